"""The code sets the preventive rules and the quality measures read, from codes.csv.

Each row names a set (`colonoscopy`, `diabetes`, `influenza-vaccine` ...), a code system by its
short name, the code and a display. A record entry belongs to a set when any of its codings does.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from mederi.core import systems

SYSTEMS = {"loinc": systems.LOINC, "snomed": systems.SNOMED, "cpt": systems.CPT, "hcpcs": systems.HCPCS,
           "cvx": systems.CVX, "icd10": systems.ICD10CM}


class CodeSetError(ValueError):
    pass


@cache
def code_sets() -> dict[str, frozenset[tuple[str, str]]]:
    """Set name -> {(system URI, code)}; a row with an unknown system fails loudly with its line."""
    found: dict[str, set[tuple[str, str]]] = {}
    with (Path(__file__).parent / "codes.csv").open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            system = SYSTEMS.get(row["system"])
            if system is None or not row["code"] or not row["set"]:
                raise CodeSetError(f"codes.csv line {line}: unknown system '{row['system']}' or empty set/code")
            found.setdefault(row["set"], set()).add((system, row["code"]))
    return {name: frozenset(codes) for name, codes in found.items()}


@cache
def sets_by_code() -> dict[tuple[str, str], frozenset[str]]:
    """(system URI, code) -> the names of every set it belongs to."""
    index: dict[tuple[str, str], set[str]] = {}
    for name, codes in code_sets().items():
        for code in codes:
            index.setdefault(code, set()).add(name)
    return {code: frozenset(names) for code, names in index.items()}


def sets_of(concept: dict | None) -> frozenset[str]:
    """The sets a CodeableConcept's codings belong to."""
    index = sets_by_code()
    names: set[str] = set()
    for coding in (concept or {}).get("coding") or ():
        names |= index.get((coding.get("system"), coding.get("code")), frozenset())
    return frozenset(names)


def tokens(*set_names: str, system_names: tuple[str, ...] = ()) -> str:
    """A search token list (`system|code,system|code`) for the sets named (all sets when none are)."""
    chosen = [code_sets()[n] for n in set_names] if set_names else list(code_sets().values())
    wanted = {SYSTEMS[s] for s in system_names}
    return ",".join(sorted({f"{system}|{code}" for codes in chosen for system, code in codes
                            if not wanted or system in wanted}))
