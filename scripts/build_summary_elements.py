"""Write mederi/fhir/definitions/summary_elements.json: the top-level elements of each R4
resource type marked isSummary, which `_summary=true` keeps.

Usage: python scripts/build_summary_elements.py [PACKAGE_DIR]
PACKAGE_DIR is the unpacked npm hl7.fhir.r4.examples@4.0.1 `package` folder.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PACKAGE = ROOT / "var" / "packages" / "hl7.fhir.r4.examples" / "package"
OUTPUT = ROOT / "mederi" / "fhir" / "definitions" / "summary_elements.json"


def main() -> None:
    package = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PACKAGE
    summary: dict[str, list[str]] = {}
    for path in sorted(package.glob("StructureDefinition-*.json")):
        definition = json.loads(path.read_text())
        if definition.get("kind") != "resource" or definition.get("derivation") != "specialization":
            continue
        name = definition["type"]
        names = set()
        for element in definition["snapshot"]["element"]:
            pieces = element["path"].split(".")
            if len(pieces) == 2 and element.get("isSummary"):
                names.add(pieces[1])
        summary[name] = sorted(names)
    OUTPUT.write_text(json.dumps(summary, indent=0, sort_keys=True) + "\n")
    print(f"wrote {OUTPUT} ({len(summary)} resource types)")


if __name__ == "__main__":
    main()
