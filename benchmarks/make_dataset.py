"""Build the benchmark data set: many re-identified copies of the shared Synthea patients.

Each output patient is a copy of one shared Synthea transaction Bundle with
  * every UUID that the bundle itself defines (fullUrls, `urn:uuid:` references, identifiers
    holding the patient's UUID) replaced by a new one, consistently inside the copy;
  * a new name from small built-in lists;
  * every date, dateTime, instant and period bound moved by the same random number of days.
The hospital and practitioner files are copied unchanged: the patient bundles point at them, and
their ids stay as they are. The result is deterministic for a given --seed, and the first N
patients of a larger run are exactly the N patients of a smaller one.

    .venv/bin/python benchmarks/make_dataset.py --patients 1000 --seed 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import shutil
import sys
import uuid
from pathlib import Path

import orjson
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "var" / "bench" / "dataset"
SHARED_PREFIXES = ("hospitalInformation", "practitionerInformation")

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# A JSON string that starts with a full date: date, dateTime and instant values (and period bounds).
DATE_RE = re.compile(r'"(\d{4}-\d{2}-\d{2})(?=(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?")')

GIVEN_FEMALE = ["Ada", "Beatriz", "Clara", "Dalia", "Elena", "Fatima", "Greta", "Hana", "Ines", "Julia",
                "Kira", "Lena", "Maya", "Nora", "Olga", "Paula", "Rosa", "Sara", "Tara", "Vera"]
GIVEN_MALE = ["Aaron", "Bruno", "Carlos", "David", "Emil", "Felix", "Gustav", "Hugo", "Ivan", "Jonas",
              "Karl", "Luis", "Marco", "Nils", "Oscar", "Pablo", "Rafael", "Simon", "Tomas", "Victor"]
FAMILY = ["Abbott", "Baker", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ibarra",
          "Jensen", "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quinn", "Rossi",
          "Silva", "Tanaka", "Unger", "Varga", "Weber", "Xavier", "Yilmaz", "Zeller"]


def find_source(explicit: str | None) -> Path:
    candidates = [Path(explicit)] if explicit else [Path("/work/shared/data/synthea"),
                                                    ROOT.parent / "shared" / "data" / "synthea"]
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*.json")):
            return candidate
    sys.exit(f"error: no Synthea bundles found in {', '.join(str(c) for c in candidates)}")


def fake_name(rng: random.Random, gender: str | None) -> tuple[str, str]:
    given = rng.choice(GIVEN_MALE if gender == "male" else GIVEN_FEMALE)
    return given, rng.choice(FAMILY)


def reidentify(text: str, rng: random.Random, keep: set[str]) -> tuple[dict, str, str, str]:
    """One re-identified copy of a patient bundle: (bundle, patient id, given, family)."""
    mapping: dict[str, str] = {}

    def new_uuid(match: re.Match) -> str:
        old = match.group(0)
        if old in keep:
            return old
        if old not in mapping:
            mapping[old] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return mapping[old]

    text = UUID_RE.sub(new_uuid, text)
    shift = dt.timedelta(days=rng.randint(-730, 730))
    shifted: dict[str, str] = {}

    def new_date(match: re.Match) -> str:
        old = match.group(1)
        if old not in shifted:
            shifted[old] = (dt.date.fromisoformat(old) + shift).isoformat()
        return '"' + shifted[old]

    text = DATE_RE.sub(new_date, text)
    bundle = orjson.loads(text)
    patient_id, given, family = "", "", ""
    for entry in bundle.get("entry", []):
        resource = entry.get("resource") or {}
        if resource.get("resourceType") != "Patient":
            continue
        patient_id = resource["id"]
        given, family = fake_name(rng, resource.get("gender"))
        for name in resource.get("name", []):
            name["given"] = [given]
            name["family"] = family if name.get("use") != "maiden" else rng.choice(FAMILY)
            name.pop("text", None)
        for extension in resource.get("extension", []):
            if extension.get("url", "").endswith("patient-mothersMaidenName"):
                extension["valueString"] = " ".join(fake_name(rng, "female"))
    return bundle, patient_id, given, family


def build(source: Path, out: Path, patients: int, seed: int, quiet: bool = False) -> dict:
    files = sorted(source.glob("*.json"))
    shared = [f for f in files if f.name.startswith(SHARED_PREFIXES)]
    originals = [f for f in files if f not in shared]
    if not originals:
        sys.exit(f"error: no patient bundles in {source}")
    keep: set[str] = set()
    for path in shared:
        keep.update(UUID_RE.findall(path.read_text(encoding="utf-8")))
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for path in shared:
        shutil.copyfile(path, out / path.name)
    texts = {path: path.read_text(encoding="utf-8") for path in originals}
    manifest = {"seed": seed, "source": str(source), "shared": [p.name for p in shared], "patients": []}
    for number in tqdm(range(patients), unit="patient", disable=quiet, desc="re-identifying"):
        original = originals[number % len(originals)]
        rng = random.Random(f"{seed}:{number}")
        bundle, patient_id, given, family = reidentify(texts[original], rng, keep)
        name = f"p{number:05d}_{given}_{family}.json"
        (out / name).write_bytes(orjson.dumps(bundle))
        manifest["patients"].append({"file": name, "source": original.name, "patient": patient_id,
                                     "resources": len(bundle.get("entry", []))})
    (out / "manifest.json.txt").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return manifest


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--source", help="folder of Synthea bundles (default: the shared data)")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    manifest = build(find_source(args.source), Path(args.out), args.patients, args.seed, args.quiet)
    total = sum(p["resources"] for p in manifest["patients"])
    print(f"wrote {len(manifest['patients'])} patients ({total} resources in patient bundles) to {args.out}")


if __name__ == "__main__":
    main()
