"""Build the search-parameter definitions shipped in `mederi/fhir/definitions/`.

Reads the unpacked `hl7.fhir.r4.examples` package (its SearchParameter, StructureDefinition and
CompartmentDefinition resources) and writes:

* `search_parameters.json` — for every concrete resource type, every search parameter of type
  token, string, date, reference, number, quantity or uri, with the part of its FHIRPath
  expression that applies to that type, its targets and a compiled "path program";
* `patient_compartment.json` — {resourceType: [codes of the parameters that put a resource of
  that type in a Patient's compartment]}.

A path program is a list of alternatives; each alternative is `[steps, terminal_type]`, where
`steps` is a list of:

* `["key", name]`            step into the JSON property `name` (lists are flattened);
* `["where", field, value]`  keep objects whose `field` equals `value`;
* `["resolve", [types]]`     keep references that point at one of `types`;
* `["hasext", url]`          keep objects carrying an extension with this url;
* `["first"]`                keep only the first item of the (top-level) property just stepped into;

and `terminal_type` is the FHIR type of the values reached (for choice elements the key already
names the type, e.g. `valueQuantity`). `Extension` means "the value[x] of these extensions" and
`Resource` means a whole resource. Expressions outside this subset get `"program": null` and are
evaluated with fhirpathpy at run time; the build prints how many.

Usage: python scripts/build_search_parameters.py [PACKAGE_DIR]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PACKAGE = ROOT / "var" / "packages" / "hl7.fhir.r4.examples" / "package"
OUT_DIR = ROOT / "mederi" / "fhir" / "definitions"

INDEXED_TYPES = ("token", "string", "date", "reference", "number", "quantity", "uri")
# Answered from the resource table itself: listed, but no index rows are written for them.
UNINDEXED = {"_id", "_lastUpdated"}
BASE_TYPES = ("Resource", "DomainResource")
PRIMITIVES = {
    "base64Binary", "boolean", "canonical", "code", "date", "dateTime", "decimal", "id", "instant",
    "integer", "markdown", "oid", "positiveInt", "string", "time", "unsignedInt", "uri", "url",
    "uuid", "xhtml",
}
SYSTEM_TYPES = {
    "http://hl7.org/fhirpath/System.String": "string",
    "http://hl7.org/fhirpath/System.Boolean": "boolean",
    "http://hl7.org/fhirpath/System.Integer": "integer",
    "http://hl7.org/fhirpath/System.Decimal": "decimal",
    "http://hl7.org/fhirpath/System.Date": "date",
    "http://hl7.org/fhirpath/System.DateTime": "dateTime",
    "http://hl7.org/fhirpath/System.Time": "time",
}


class Unsupported(Exception):
    """The expression uses FHIRPath outside the subset the path programs cover."""


# --------------------------------------------------------------------------------------------
# Element model, from the StructureDefinitions


class Model:
    def __init__(self, package: Path):
        self.elements: dict[str, dict[str, dict]] = {}  # type -> relative path -> element info
        self.resource_types: list[str] = []
        self.kinds: dict[str, str] = {}
        for path in sorted(package.glob("StructureDefinition-*.json")):
            sd = json.loads(path.read_text(encoding="utf-8"))
            if sd.get("derivation") == "constraint":
                continue
            name = sd["type"] if sd["kind"] != "logical" else sd["id"]
            if sd["kind"] == "logical":
                continue
            self.kinds[name] = sd["kind"]
            if sd["kind"] == "resource" and not sd.get("abstract"):
                self.resource_types.append(name)
            table: dict[str, dict] = {}
            for el in sd.get("snapshot", {}).get("element", []):
                full = el["path"]
                if "." not in full:
                    continue
                rel = full.split(".", 1)[1]
                codes = [SYSTEM_TYPES.get(t["code"], t["code"]) for t in el.get("type", [])]
                info = {"types": codes, "ref": None, "choice": rel.endswith("[x]")}
                if el.get("contentReference"):
                    info["ref"] = el["contentReference"].lstrip("#").split(".", 1)[1]
                if info["choice"]:
                    rel = rel[:-3]
                table[rel] = info
            self.elements[name] = table
        self.resource_types.sort()

    def child(self, state: tuple[str, str], name: str) -> list[tuple[str, tuple[str, str] | None, str]]:
        """Options for stepping into `name` from `state` = (type, relative path).

        Returns [(json_key, next_state_or_None_for_primitive, fhir_type)], several for choices.
        """
        type_name, rel = state
        table = self.elements.get(type_name)
        if table is None:
            raise Unsupported(f"no structure for {type_name}")
        path = f"{rel}.{name}" if rel else name
        info = table.get(path)
        if info is None:
            raise Unsupported(f"unknown element {type_name}.{path}")
        if info["ref"]:
            return [(name, (type_name, info["ref"]), "BackboneElement")]
        if info["choice"]:
            return [(name + t[0].upper() + t[1:], self.state_for(t, type_name, path), t) for t in info["types"]]
        if len(info["types"]) != 1:
            raise Unsupported(f"ambiguous type for {type_name}.{path}")
        t = info["types"][0]
        return [(name, self.state_for(t, type_name, path), t)]

    def state_for(self, fhir_type: str, owner: str, path: str) -> tuple[str, str] | None:
        if fhir_type in ("BackboneElement", "Element"):
            return (owner, path)
        if fhir_type in PRIMITIVES:
            return None
        return (fhir_type, "")


# --------------------------------------------------------------------------------------------
# A parser for the FHIRPath subset used by search parameter expressions

TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>\d+)|(?P<id>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>!=|[.()\[\]|=,]))"
)


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise Unsupported(f"cannot read {text[pos:]!r}")
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "str":
            value = value[1:-1].replace("\\'", "'")
        tokens.append((kind, value))
        pos = m.end()
    return tokens


class Parser:
    """union := chain ('|' chain)* ; chain := primary ('.' call | '[' n ']')* ('as' Type)?"""

    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self, offset: int = 0):
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else (None, None)

    def take(self, kind=None, value=None):
        tok = self.peek()
        if tok[0] is None or (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            raise Unsupported(f"expected {value or kind}, found {tok[1]!r}")
        self.i += 1
        return tok[1]

    def parse(self) -> list[tuple[str, list]]:
        alternatives = [self.chain()]
        while self.peek() == ("op", "|"):
            self.take()
            alternatives.append(self.chain())
        if self.peek()[0] is not None:
            raise Unsupported(f"unexpected {self.peek()[1]!r}")
        return alternatives

    def chain(self) -> tuple[str, list]:
        if self.peek() == ("op", "("):
            self.take()
            root, steps = self.chain()
            self.take("op", ")")
        else:
            root, steps = self.take("id"), []
        while True:
            tok = self.peek()
            if tok == ("op", "."):
                self.take()
                steps.append(self.call())
            elif tok == ("op", "["):
                self.take()
                if self.take("num") != "0":
                    raise Unsupported("only [0] is supported")
                self.take("op", "]")
                steps.append(("first",))
            elif tok == ("id", "as"):
                self.take()
                steps.append(("as", self.take("id")))
            else:
                return root, steps

    def call(self) -> tuple:
        name = self.take("id")
        if self.peek() != ("op", "("):
            return ("name", name)
        self.take()
        if name in ("as", "ofType"):
            step = ("as", self.take("id"))
        elif name == "extension":
            step = ("ext", self.take("str"))
        elif name == "where":
            step = self.where_args()
        else:
            raise Unsupported(f"function {name}()")
        self.take("op", ")")
        return step

    def where_args(self) -> tuple:
        first = self.take("id")
        if first == "resolve":
            self.take("op", "(")
            self.take("op", ")")
            self.take("id", "is")
            return ("resolve", self.take("id"))
        if first == "hasExtension":
            self.take("op", "(")
            url = self.take("str")
            self.take("op", ")")
            return ("hasext", url)
        self.take("op", "=")
        return ("where", first, self.take("str"))


def compile_alternative(model: Model, resource_type: str, steps: list[tuple]) -> list[list]:
    """Resolve one parsed chain against the element model: [[ops, terminal_type], ...]."""
    # Each partial: (ops, state, fhir_type). The root is the resource itself.
    partials = [([], (resource_type, ""), resource_type)]
    i = 0
    while i < len(steps):
        step = steps[i]
        nxt = steps[i + 1] if i + 1 < len(steps) else None
        out = []
        for ops, state, ftype in partials:
            kind = step[0]
            if kind == "name":
                if state is None:
                    raise Unsupported(f"step into primitive {ftype}")
                options = model.child(state, step[1])
                if len(options) > 1 and nxt and nxt[0] == "as":
                    options = [o for o in options if o[2] == nxt[1]]
                for key, nstate, ntype in options:
                    out.append((ops + [["key", key]], nstate, ntype))
            elif kind == "as":
                if ftype in ("Resource", "Extension"):
                    raise Unsupported("cast of an untyped value")
                if ftype == step[1]:
                    out.append((ops, state, ftype))
            elif kind == "ext":
                out.append((ops + [["key", "extension"], ["where", "url", step[1]]], ("Extension", ""), "Extension"))
            elif kind == "where":
                out.append((ops + [["where", step[1], step[2]]], state, ftype))
            elif kind == "resolve":
                if ftype not in ("Reference",):
                    raise Unsupported("resolve() on a non-Reference")
                out.append((ops + [["resolve", [step[1]]]], state, ftype))
            elif kind == "hasext":
                out.append((ops + [["hasext", step[1]]], state, ftype))
            elif kind == "first":
                if len(ops) != 1:
                    raise Unsupported("[0] is only supported right after the first element")
                out.append((ops + [["first"]], state, ftype))
            else:  # pragma: no cover - parser produces only the kinds above
                raise Unsupported(kind)
        partials = out
        i += 1
    result = []
    for ops, _state, ftype in partials:
        if not ops:
            raise Unsupported("expression is the resource itself")
        result.append([ops, ftype])
    return result


def compile_expression(model: Model, resource_type: str, expression: str) -> tuple[str, list | None]:
    """Returns (the expression restricted to resource_type, program or None)."""
    parts = [absolute(p, resource_type) for p in split_union(expression)]
    kept = [p for p in parts if root_of(p) in (resource_type, *BASE_TYPES)]
    if not kept:
        return "", []
    restricted = " | ".join(kept)
    try:
        program = []
        for part in kept:
            for root, steps in Parser(part).parse():
                if root not in (resource_type, *BASE_TYPES):
                    raise Unsupported(f"root {root}")
                program.extend(compile_alternative(model, resource_type, steps))
        return restricted, program
    except Unsupported:
        return restricted, None


def split_union(expression: str) -> list[str]:
    """Split on top-level '|' (outside parentheses and quotes)."""
    parts, depth, quote, start = [], 0, False, 0
    for i, ch in enumerate(expression):
        if ch == "'" and (i == 0 or expression[i - 1] != "\\"):
            quote = not quote
        elif quote:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(expression[start:i].strip())
            start = i + 1
    parts.append(expression[start:].strip())
    return [p for p in parts if p]


def absolute(fragment: str, resource_type: str) -> str:
    """A few expressions omit the resource type ("name | alias"): anchor them on it."""
    m = re.match(r"[\s(]*", fragment)
    rest = fragment[m.end():]
    if rest[:1].islower():
        return fragment[: m.end()] + f"{resource_type}." + rest
    return fragment


def root_of(fragment: str) -> str:
    m = re.match(r"[\s(]*([A-Za-z][A-Za-z0-9]*)", fragment)
    return m.group(1) if m else ""


# --------------------------------------------------------------------------------------------


def build(package: Path) -> tuple[dict, dict, int, int]:
    model = Model(package)
    raw = []
    for path in sorted(package.glob("SearchParameter-*.json")):
        sp = json.loads(path.read_text(encoding="utf-8"))
        if sp.get("resourceType") != "SearchParameter" or sp.get("type") not in INDEXED_TYPES:
            continue
        if not sp.get("expression") or not sp.get("base"):
            continue
        raw.append(sp)

    per_type: dict[str, dict[str, dict]] = {rt: {} for rt in model.resource_types}
    fallbacks, total = 0, 0
    generic = [sp for sp in raw if any(b in BASE_TYPES for b in sp["base"])]
    specific = [sp for sp in raw if not any(b in BASE_TYPES for b in sp["base"])]
    fallback_seen: set[tuple[str, str]] = set()
    for rt in model.resource_types:
        for sp in generic + specific:
            bases = sp["base"]
            if rt not in bases and not any(b in BASE_TYPES for b in bases):
                continue
            if any(b in BASE_TYPES for b in bases) and model.kinds.get(rt) != "resource":
                continue
            if "DomainResource" in bases and rt in ("Bundle", "Binary", "Parameters"):
                continue
            code = sp["code"]
            if code in per_type[rt]:
                continue  # the first definition of a code wins (generic ones come first)
            expression, program = compile_expression(model, rt, sp["expression"])
            if not expression:
                print(f"warning: {sp['id']} has no expression for {rt}", file=sys.stderr)
                continue
            total += 1
            if program is None:
                fallbacks += 1
                fallback_seen.add((rt, code))
            per_type[rt][code] = {
                "type": sp["type"],
                "expression": expression,
                "targets": sorted(sp.get("target", [])),
                "url": sp.get("url"),
                "indexed": code not in UNINDEXED,
                "program": program,
            }
    for rt, code in sorted(fallback_seen):
        print(f"fallback to fhirpathpy: {rt}.{code}: {per_type[rt][code]['expression']}")

    compartment = json.loads((package / "CompartmentDefinition-patient.json").read_text(encoding="utf-8"))
    patient = {
        entry["code"]: list(entry["param"])
        for entry in compartment.get("resource", [])
        if entry.get("param")
    }
    definitions = {
        "fhirVersion": "4.0.1",
        "resources": {rt: dict(sorted(params.items())) for rt, params in per_type.items() if params},
    }
    return definitions, dict(sorted(patient.items())), total, fallbacks


def main(argv: list[str]) -> int:
    package = Path(argv[1]) if len(argv) > 1 else DEFAULT_PACKAGE
    if not (package / "CompartmentDefinition-patient.json").exists():
        print(f"not an unpacked hl7.fhir.r4.examples package: {package}", file=sys.stderr)
        return 2
    definitions, patient, total, fallbacks = build(package)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "search_parameters.json").write_text(
        json.dumps(definitions, indent=1, sort_keys=False) + "\n", encoding="utf-8"
    )
    (OUT_DIR / "patient_compartment.json").write_text(json.dumps(patient, indent=1) + "\n", encoding="utf-8")
    types = len(definitions["resources"])
    print(f"{total} parameter expressions over {types} resource types; {fallbacks} fall back to fhirpathpy")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
