#!/usr/bin/env python
"""Compile the official FHIR R4 definitions into the compact data `mederi.fhir.validation` loads.

Reads an unpacked `hl7.fhir.r4.examples` npm package (StructureDefinition-*, ValueSet-*,
CodeSystem-* files) and writes `mederi/fhir/definitions/structure.json.gz`:

    {
      "fhirVersion": "4.0.1",
      "resources": ["Account", ...],             # concrete resource types
      "primitives": {"date": "<regex>", ...},     # primitive types and their R4 regexes
      "types": {                                  # resources, datatypes and backbone elements
        "Patient": {"name": ["HumanName", "*", 0, null, null, 0], ...},
        "Patient.contact": {...},
        ...
      },
      "valueSets": {"observation-status": {"http://hl7.org/fhir/observation-status":
                                           ["registered", ...]}, ...}
    }

Each element is `[type, max, min, valueSet, choiceGroup, flags]`:
  type         a primitive or complex type name, "Resource" for an embedded resource, or the
               path of a backbone element ("Questionnaire.item"), which is itself a key of "types"
  max          "1", "*" or a number as a string ("0" where a profile removes the element)
  min          minimum cardinality
  valueSet     key in "valueSets" when the element (code, Coding or CodeableConcept) has a
               required binding to a small value set whose codes can all be listed from the
               package, else null
  choiceGroup  for choice elements expanded from `value[x]`, the group name ("value[x]")
  flags        1 = no `_name` sibling allowed (Element.id, Resource.id, Extension.url)

Usage: python scripts/build_fhir_definitions.py [PACKAGE_DIR] [-o OUTPUT]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PACKAGE = ROOT / "var" / "packages" / "hl7.fhir.r4.examples" / "package"
DEFAULT_OUTPUT = ROOT / "mederi" / "fhir" / "definitions" / "structure.json.gz"

# Required bindings are only compiled when the whole value set fits in this many codes (the
# largest closed ones in R4, all-types and defined-types, have a little over 200).
MAX_CODES = 250

FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"
SYSTEM_TYPES = "http://hl7.org/fhirpath/System."

# Constraint profiles on datatypes that core resources refer to through `type.profile`.
DATATYPE_PROFILES = {"http://hl7.org/fhir/StructureDefinition/SimpleQuantity": "SimpleQuantity"}


def load_package(pkg: Path):
    sds, value_sets, code_systems = {}, {}, {}
    for path in sorted(pkg.glob("*.json")):
        name = path.name
        if not name.startswith(("StructureDefinition-", "ValueSet-", "CodeSystem-")):
            continue
        with path.open(encoding="utf-8") as fh:
            res = json.load(fh)
        kind = res.get("resourceType")
        if kind == "StructureDefinition":
            sds[res["url"]] = res
        elif kind == "ValueSet" and res.get("url"):
            value_sets[res["url"]] = res
        elif kind == "CodeSystem" and res.get("url"):
            code_systems[res["url"]] = res
    return sds, value_sets, code_systems


class ValueSetExpander:
    """Lists the (system, code) pairs of a value set when that is possible from the package alone.

    Expansions are dicts used as ordered sets, so codes keep the order of their definition.
    """

    def __init__(self, value_sets: dict, code_systems: dict):
        self.value_sets = value_sets
        self.code_systems = code_systems
        self.cache: dict[str, dict | None] = {}

    def expand(self, url: str, stack: tuple = ()) -> dict | None:
        url = url.split("|", 1)[0]
        if url in self.cache:
            return self.cache[url]
        if url in stack:
            return None
        vs = self.value_sets.get(url)
        codes = self._expand(vs, stack + (url,)) if vs else None
        self.cache[url] = codes
        return codes

    def _expand(self, vs: dict, stack: tuple) -> dict | None:
        compose = vs.get("compose")
        if not compose:
            return None
        codes: dict = {}
        for inc in compose.get("include", []):
            part = self._include(inc, stack)
            if part is None:
                return None
            codes.update(part)
        for exc in compose.get("exclude", []):
            part = self._include(exc, stack)
            if part is None:
                return None
            codes = {k: None for k in codes if k not in part}
        return codes

    def _include(self, inc: dict, stack: tuple) -> dict | None:
        if inc.get("filter"):
            return None
        codes: dict | None = None
        system = inc.get("system", "")
        if inc.get("concept"):
            codes = {(system, c["code"]): None for c in inc["concept"]}
        elif system:
            cs = self.code_systems.get(system)
            if cs is None or cs.get("content") != "complete" or inc.get("version"):
                return None
            codes = {}

            def walk(concepts):
                for c in concepts:
                    codes[(system, c["code"])] = None
                    walk(c.get("concept", []))

            walk(cs.get("concept", []))
        for ref in inc.get("valueSet", []):
            other = self.expand(ref, stack)
            if other is None:
                return None
            codes = dict(other) if codes is None else {k: None for k in codes if k in other}
        return codes


def type_name(t: dict, path: str, base_path: str) -> str:
    code = t["code"]
    if code.startswith(SYSTEM_TYPES):
        for ext in t.get("extension", []):
            if ext.get("url") == FHIR_TYPE_EXT:
                code = ext["valueUrl"]
                break
        else:
            code = "string"
        if base_path == "Resource.id":
            # The R4 specification (and its JSON schema) types a resource's logical id as `id`.
            code = "id"
    elif code in ("BackboneElement", "Element"):
        code = path  # a nested group of elements defined inline
    for prof in t.get("profile", []):
        if prof in DATATYPE_PROFILES:
            return DATATYPE_PROFILES[prof]
    return code


def compile_sd(sd: dict, expander: ValueSetExpander, types: dict, value_sets: dict, stats: dict,
               type_key: str | None = None) -> None:
    elements = sd["snapshot"]["element"]
    root = elements[0]["path"]
    key_of = {root: type_key or sd["type"]}
    for el in elements[1:]:
        path = el["path"]
        parent, _, name = path.rpartition(".")
        owner = key_of.get(parent)
        if owner is None:
            # children of an element that is not a group (e.g. primitive `value`) or of a slice
            continue
        if el.get("sliceName"):
            continue
        if "contentReference" in el:
            target = el["contentReference"].lstrip("#")
            tnames = [target]
        else:
            base_path = (el.get("base") or {}).get("path", path)
            tnames = [type_name(t, path, base_path) for t in el.get("type", [])]
        if not tnames:
            continue
        if any(t == path for t in tnames):
            key_of[path] = path
            types.setdefault(path, {})
        binding = el.get("binding") or {}
        vs_key = None
        if (binding.get("strength") == "required" and binding.get("valueSet")
                and len(set(tnames)) == 1 and tnames[0] in ("code", "Coding", "CodeableConcept")):
            url = binding["valueSet"].split("|", 1)[0]
            codes = expander.expand(url)
            if codes is not None and 0 < len(codes) <= MAX_CODES:
                by_system: dict[str, list] = {}
                for system, code in codes:
                    by_system.setdefault(system, []).append(code)
                vs_key = url.rsplit("/", 1)[-1]
                if value_sets.get(vs_key, by_system) != by_system:
                    vs_key = url
                value_sets[vs_key] = by_system
                stats["bound"] += 1
            else:
                stats["unbound"].add(url)
        # Element.id, Resource.id and Extension.url have FHIRPath system types: they are not FHIR
        # primitives, so they take no extensions and have no `_name` sibling in JSON.
        flags = 1 if any(t["code"].startswith(SYSTEM_TYPES) for t in el.get("type", [])) else 0
        spec = [None, el["max"], el["min"], vs_key, None, flags]
        entries = types[owner]
        if name.endswith("[x]"):
            stem = name[:-3]
            for t in tnames:
                suffix = "Quantity" if t == "SimpleQuantity" else t
                entries[stem + suffix[0].upper() + suffix[1:]] = [t] + spec[1:4] + [name, flags]
        else:
            if len(tnames) != 1:
                raise SystemExit(f"{path}: several types on a non-choice element: {tnames}")
            entries[name] = [tnames[0]] + spec[1:]


def build(pkg: Path) -> dict:
    sds, vs_res, cs_res = load_package(pkg)
    if not sds:
        raise SystemExit(f"no StructureDefinitions found in {pkg}")
    expander = ValueSetExpander(vs_res, cs_res)
    core = [sd for sd in sds.values() if sd.get("derivation") != "constraint" and sd["kind"] != "logical"
            and sd["url"].startswith("http://hl7.org/fhir/StructureDefinition/")]

    primitives = {}
    for sd in core:
        if sd["kind"] != "primitive-type":
            continue
        regex = None
        for el in sd["snapshot"]["element"]:
            if el["path"] == sd["type"] + ".value":
                for ext in el["type"][0].get("extension", []):
                    if ext.get("url") == REGEX_EXT:
                        regex = ext["valueString"]
        primitives[sd["type"]] = regex

    types: dict[str, dict] = {}
    value_sets: dict[str, list] = {}
    stats = {"bound": 0, "unbound": set()}
    for sd in sorted(core, key=lambda s: s["type"]):
        if sd["kind"] in ("complex-type", "resource"):
            types[sd["type"]] = {}
            compile_sd(sd, expander, types, value_sets, stats)
    for url, key in DATATYPE_PROFILES.items():
        types[key] = {}
        compile_sd(sds[url], expander, types, value_sets, stats, type_key=key)

    resources = sorted(sd["type"] for sd in core if sd["kind"] == "resource" and not sd.get("abstract"))

    # sanity: every referenced type is known
    known = set(types) | set(primitives) | {"xhtml", "Resource"}
    for tname, elems in types.items():
        for ename, spec in elems.items():
            if spec[0] not in known:
                raise SystemExit(f"{tname}.{ename}: unknown type {spec[0]}")
    print(f"{len(resources)} resource types, {len(types)} types, {len(primitives)} primitives, "
          f"{stats['bound']} bound elements over {len(value_sets)} value sets "
          f"({len(stats['unbound'])} required value sets left unchecked)", file=sys.stderr)
    return {
        "fhirVersion": "4.0.1",
        "resources": resources,
        "primitives": primitives,
        "types": types,
        "valueSets": dict(sorted(value_sets.items())),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("package", nargs="?", default=str(DEFAULT_PACKAGE),
                    help="directory of the unpacked hl7.fhir.r4.examples package")
    ap.add_argument("-o", "--output", default=str(DEFAULT_OUTPUT))
    args = ap.parse_args(argv)
    data = build(Path(args.package))
    raw = json.dumps(data, separators=(",", ":"), sort_keys=False).encode()
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        # mtime=0 keeps the output byte-identical between runs
        with gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=9, mtime=0) as gz:
            gz.write(raw)
    print(f"wrote {out} ({out.stat().st_size:,} bytes, {len(raw):,} uncompressed)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
