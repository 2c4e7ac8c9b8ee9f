"""Loading a full RxNorm release (the RRF files of NLM's monthly or weekly download).

Only two files are read, with the column layout NLM documents for them:

    RXNCONSO.RRF  RXCUI|LAT|TS|LUI|STT|SUI|ISPREF|RXAUI|SAUI|SCUI|SDUI|SAB|TTY|CODE|STR|SRL|SUPPRESS|CVF|
    RXNREL.RRF    RXCUI1|RXAUI1|STYPE1|REL|RXCUI2|RXAUI2|STYPE2|RELA|RUI|SRUI|SAB|SL|DIR|RG|SUPPRESS|CVF|

Names come from RxNorm's own atoms (SAB=RXNORM) that are not suppressed. Ingredients, dose
forms and strengths come from the relationships between concepts. A relationship row says
what the second concept is to the first; it is read here by the term types of its two ends
instead (a clinical drug consists of components, a component has an ingredient, ...), which
needs no knowledge of direction and ignores the reverse row that RxNorm also ships.

Everything is read and checked before anything is stored, and then the catalogue is replaced in
one transaction: a bad file leaves the catalogue as it was.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from mederi.clinical.drugs.catalogue import TERM_TYPES, Concept, replace_catalogue

CONSO_FIELDS = 18
REL_FIELDS = 16
# Term types read besides the ones the catalogue keeps: components carry strengths, DF names forms.
_HELPER_TYPES = ("SCDC", "DF")
_RELATIONS = frozenset({
    "has_ingredient", "ingredient_of", "consists_of", "constitutes", "has_tradename", "tradename_of",
    "has_form", "form_of", "has_part", "part_of", "contains", "contained_in", "has_dose_form", "dose_form_of",
})
_STRENGTH = re.compile(r"(\d[\d.]*\s+[A-Z%][A-Z%/]*)$")


class RxNormFileError(ValueError):
    """A release file that cannot be read; says which file, which line and why."""

    def __init__(self, path: Path, line: int | None, reason: str):
        self.path, self.line, self.reason = path, line, reason
        where = f"{path.name} line {line}" if line else path.name
        super().__init__(f"{where}: {reason}")


def _rows(path: Path, fields: int, on_bytes: Callable[[int], None]):
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            on_bytes(len(raw))
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise RxNormFileError(path, number, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
            if not line:
                continue
            parts = line.split("|")
            # Each line ends with a '|', so a good line splits into one more part than it has fields.
            if len(parts) != fields + 1 or parts[-1] != "":
                found = len(parts) - 1 if parts[-1] == "" else len(parts)
                raise RxNormFileError(path, number, f"expected {fields} fields each ended by '|', found {found}")
            yield number, parts


def _rxcui(path: Path, number: int, value: str, column: str) -> str:
    if not value.isdigit():
        raise RxNormFileError(path, number, f"{column} '{value}' is not an RxCUI (digits only)")
    return value


def read_release(folder: Path, on_bytes: Callable[[int], None] = lambda n: None) -> list[Concept]:
    """The catalogue's concepts in a release folder (the `rrf/` folder of NLM's download)."""
    conso, rel = folder / "RXNCONSO.RRF", folder / "RXNREL.RRF"
    for path in (conso, rel):
        if not path.is_file():
            raise RxNormFileError(path, None, f"not found in {folder}; give the release's rrf folder")

    names: dict[str, str] = {}
    types: dict[str, str] = {}
    for number, f in _rows(conso, CONSO_FIELDS, on_bytes):
        rxcui = _rxcui(conso, number, f[0], "RXCUI")
        if f[11] != "RXNORM" or f[16] not in ("", "N"):
            continue
        tty = f[12]
        if tty in TERM_TYPES or tty in _HELPER_TYPES:
            if not f[14]:
                raise RxNormFileError(conso, number, "the name (STR, field 15) is empty")
            names[rxcui], types[rxcui] = f[14], tty

    neighbours: dict[str, set[str]] = defaultdict(set)
    for number, f in _rows(rel, REL_FIELDS, on_bytes):
        first = _rxcui(rel, number, f[0], "RXCUI1") if f[0] else ""
        second = _rxcui(rel, number, f[4], "RXCUI2") if f[4] else ""
        if f[10] == "RXNORM" and f[7] in _RELATIONS and first in types and second in types:
            neighbours[first].add(second)
            neighbours[second].add(first)
    return _concepts(names, types, neighbours)


def _concepts(names, types, neighbours) -> list[Concept]:
    def of_type(rxcui: str, *wanted: str) -> list[str]:
        return sorted(n for n in neighbours.get(rxcui, ()) if types[n] in wanted)

    def ingredients(rxcui: str) -> tuple[str, ...]:
        tty = types[rxcui]
        if tty == "IN":
            return (rxcui,)
        found: set[str] = set()
        if tty == "SCD":
            for component in of_type(rxcui, "SCDC"):
                found.update(of_type(component, "IN"))
        elif tty == "SBD":
            for generic in of_type(rxcui, "SCD"):
                found.update(ingredients(generic))
        elif tty in ("GPCK", "BPCK"):
            for drug in of_type(rxcui, "SCD", "SBD"):
                found.update(ingredients(drug))
        return tuple(sorted(found or of_type(rxcui, "IN"), key=int))

    def strength(rxcui: str) -> str:
        tty = types[rxcui]
        if tty == "SBD":
            generics = of_type(rxcui, "SCD")
            return strength(generics[0]) if generics else ""
        if tty != "SCD":
            return ""
        parts = [_STRENGTH.search(names[c]) for c in of_type(rxcui, "SCDC")]
        return " / ".join(p.group(1) for p in parts if p)

    concepts = []
    for rxcui, tty in types.items():
        if tty not in TERM_TYPES:
            continue
        forms = of_type(rxcui, "DF")
        concepts.append(Concept(rxcui, names[rxcui], tty, ingredients(rxcui),
                                names[forms[0]] if forms else "", strength(rxcui)))
    return concepts


def import_release(folder: Path, progress: Callable[[int], None] = lambda n: None) -> int:
    """Replace the catalogue with the release in `folder`; returns the number of concepts stored."""
    from mederi.clinical.drugs.models import DrugConcept

    concepts = read_release(folder, progress)
    if not concepts:
        raise RxNormFileError(folder / "RXNCONSO.RRF", None, "holds no RxNorm concepts of the kinds a prescriber picks")
    return replace_catalogue(concepts, DrugConcept.RXNORM)


def release_size(folder: Path) -> int:
    return sum((folder / name).stat().st_size for name in ("RXNCONSO.RRF", "RXNREL.RRF") if (folder / name).is_file())
