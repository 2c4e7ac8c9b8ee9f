"""The knowledge base behind drug alerts, read from the data files in mederi/clinical/knowledge/.

The facts are data, not code: ingredients (RxCUI and name), drug classes and their members,
drug–drug interactions by ingredient or class, allergens by code or name, and class
cross-reactivity of allergies. `knowledge()` reads and checks them once per process; a file
that names an unknown ingredient or class, or an unknown severity, fails loudly with its line.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass, field
from pathlib import Path

from mederi.fhir.values import normalize_string

FOLDER = Path(__file__).resolve().parent.parent / "knowledge"
SEVERITIES = ("contraindicated", "major", "moderate")  # most severe first
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


class KnowledgeError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    """One interaction (drug–drug, or allergy–drug): what happens and what to do."""

    first: str  # an ingredient RxCUI or a class name
    second: str
    severity: str
    why: str
    advice: str
    source: str = ""


@dataclass
class Knowledge:
    ingredient_names: dict[str, str] = field(default_factory=dict)
    class_labels: dict[str, str] = field(default_factory=dict)
    duplicate_classes: set[str] = field(default_factory=set)
    classes_of: dict[str, frozenset[str]] = field(default_factory=dict)
    interactions: dict[tuple[str, str], Rule] = field(default_factory=dict)  # both orders
    allergen_codes: dict[tuple[str, str], str] = field(default_factory=dict)  # (system, code) -> key
    allergen_names: dict[str, str] = field(default_factory=dict)  # normalised name -> key
    allergy_rules: dict[tuple[str, str], Rule] = field(default_factory=dict)

    def keys_of(self, rxcui: str) -> set[str]:
        """An ingredient and every class it belongs to: what rules are written against."""
        return {rxcui, *self.classes_of.get(rxcui, ())}

    def name_of(self, key: str) -> str:
        return self.ingredient_names.get(key) or self.class_labels.get(key) or key


def _rows(name: str):
    path = FOLDER / name
    with open(path, newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            yield line, row


def _check_key(kb: Knowledge, name: str, line: int, key: str) -> str:
    if key.isdigit():
        if key not in kb.ingredient_names:
            raise KnowledgeError(f"{name} line {line}: RxCUI {key} is not in ingredients.csv")
    elif key not in kb.class_labels:
        raise KnowledgeError(f"{name} line {line}: '{key}' is not a class of classes.csv")
    return key


def _rule(kb: Knowledge, name: str, line: int, first: str, second: str, row: dict) -> Rule:
    if row["severity"] not in SEVERITIES:
        raise KnowledgeError(f"{name} line {line}: severity '{row['severity']}' is not one of {', '.join(SEVERITIES)}")
    if not row["why"].strip() or not row["advice"].strip():
        raise KnowledgeError(f"{name} line {line}: every rule says why it matters and what to do")
    return Rule(_check_key(kb, name, line, first), _check_key(kb, name, line, second), row["severity"],
                row["why"].strip(), row["advice"].strip(), (row.get("source") or "").strip())


def load() -> Knowledge:
    kb = Knowledge()
    for _, row in _rows("ingredients.csv"):
        kb.ingredient_names[row["rxcui"]] = row["name"]
    for _, row in _rows("classes.csv"):
        kb.class_labels[row["class"]] = row["label"]
        if row["duplicate_therapy"] == "yes":
            kb.duplicate_classes.add(row["class"])
    members: dict[str, set[str]] = {}
    for line, row in _rows("class_members.csv"):
        _check_key(kb, "class_members.csv", line, row["class"])
        rxcui = _check_key(kb, "class_members.csv", line, row["rxcui"])
        members.setdefault(rxcui, set()).add(row["class"])
    kb.classes_of = {rxcui: frozenset(classes) for rxcui, classes in members.items()}
    for line, row in _rows("interactions.csv"):
        rule = _rule(kb, "interactions.csv", line, row["first"], row["second"], row)
        kb.interactions[(rule.first, rule.second)] = rule
        kb.interactions[(rule.second, rule.first)] = rule
    for line, row in _rows("allergens.csv"):
        key = _check_key(kb, "allergens.csv", line, row["allergen"])
        if row["kind"] == "text":
            kb.allergen_names[normalize_string(row["value"])] = key
        elif row["kind"] in ("rxnorm", "snomed"):
            kb.allergen_codes[(row["kind"], row["value"])] = key
        else:
            raise KnowledgeError(f"allergens.csv line {line}: kind '{row['kind']}' is not rxnorm, snomed or text")
    for line, row in _rows("allergy_rules.csv"):
        rule = _rule(kb, "allergy_rules.csv", line, row["allergen"], row["drug_class"], row)
        kb.allergy_rules[(rule.first, rule.second)] = rule
    return kb


@functools.cache
def knowledge() -> Knowledge:
    return load()
