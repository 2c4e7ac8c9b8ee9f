"""Drug checks against the knowledge base: interactions, allergies, duplicate therapy.

Pure functions over `Drug` and `Allergy` values (the FHIR side is in `medications.py`), so each
rule can be tested on worked cases without a database. Each alert carries a `key` that names
its cause (the two ingredients, the allergy and the ingredient, ...): the same cause gives the
same key at every check, which is how an alert already dealt with in a visit is not repeated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mederi.clinical.cds.knowledge import SEVERITY_RANK, Knowledge, Rule, knowledge


@dataclass(frozen=True)
class Drug:
    name: str
    ingredients: tuple[str, ...]  # ingredient RxCUIs
    rxcui: str | None = None
    reference: str | None = None  # "MedicationRequest/…" for a drug already on the record


@dataclass(frozen=True)
class Allergy:
    text: str
    allergens: frozenset[str]  # ingredient RxCUIs and class names
    reference: str | None = None


@dataclass
class Alert:
    kind: str  # interaction, allergy, duplicate
    severity: str  # contraindicated, major, moderate
    key: str
    summary: str
    why: str
    advice: str
    source: str = ""
    drugs: list[str] = field(default_factory=list)  # names of the drugs involved
    other_reference: str | None = None  # the drug on the record that the alert is about


def _most_severe(rules: list[Rule]) -> Rule | None:
    return min(rules, key=lambda r: SEVERITY_RANK[r.severity]) if rules else None


def interaction_alerts(new: Drug, current: list[Drug], kb: Knowledge | None = None) -> list[Alert]:
    kb = kb or knowledge()
    alerts: dict[str, Alert] = {}
    for other in current:
        for mine in new.ingredients:
            for theirs in other.ingredients:
                if mine == theirs:
                    continue  # the same ingredient twice is duplicate therapy, not an interaction
                rule = _most_severe([kb.interactions[(a, b)] for a in kb.keys_of(mine) for b in kb.keys_of(theirs)
                                     if (a, b) in kb.interactions])
                if rule is None:
                    continue
                key = "interaction:" + ":".join(sorted((mine, theirs), key=int))
                if key in alerts and SEVERITY_RANK[alerts[key].severity] <= SEVERITY_RANK[rule.severity]:
                    continue
                alerts[key] = Alert(
                    "interaction", rule.severity, key,
                    f"{_label(rule.severity)} interaction: {kb.name_of(mine)} with {kb.name_of(theirs)}",
                    rule.why, rule.advice, rule.source, [new.name, other.name], other.reference)
    return list(alerts.values())


def allergy_alerts(new: Drug, allergies: list[Allergy], kb: Knowledge | None = None) -> list[Alert]:
    kb = kb or knowledge()
    alerts = []
    for allergy in allergies:
        allergen_ingredients = {a for a in allergy.allergens if a.isdigit()}
        allergen_classes = {a for a in allergy.allergens if not a.isdigit()}
        for rxcui in allergen_ingredients:
            allergen_classes |= kb.classes_of.get(rxcui, frozenset())
        for mine in new.ingredients:
            key = f"allergy:{allergy.reference or allergy.text}:{mine}"
            if mine in allergen_ingredients:
                alerts.append(Alert(
                    "allergy", "contraindicated", key, f"Allergy: {kb.name_of(mine)} — recorded allergy to {allergy.text}",
                    f"The patient has a recorded allergy to {allergy.text}, and {new.name} contains {kb.name_of(mine)}.",
                    "Do not give; choose a drug from another class.", "allergy record", [new.name]))
                continue
            rule = _most_severe([kb.allergy_rules[(a, d)] for a in allergen_classes
                                 for d in kb.classes_of.get(mine, ()) if (a, d) in kb.allergy_rules])
            if rule is not None:
                alerts.append(Alert(
                    "allergy", rule.severity, key,
                    f"Possible cross-reaction: {kb.name_of(mine)} in a patient allergic to {allergy.text}",
                    rule.why, rule.advice, "allergy cross-reactivity", [new.name]))
    return alerts


def duplicate_alerts(new: Drug, current: list[Drug], kb: Knowledge | None = None) -> list[Alert]:
    kb = kb or knowledge()
    alerts: dict[str, Alert] = {}
    for other in current:
        shared = sorted(set(new.ingredients) & set(other.ingredients), key=int)
        for rxcui in shared:
            key = f"duplicate:ingredient:{rxcui}"
            alerts[key] = Alert(
                "duplicate", "major", key, f"Duplicate: {kb.name_of(rxcui)} is already on the list ({other.name})",
                f"{new.name} and {other.name} both contain {kb.name_of(rxcui)}: the doses add up.",
                f"Stop or change {other.name}, or do not order {new.name}.", "duplicate therapy",
                [new.name, other.name], other.reference)
        if shared:
            continue
        for mine in new.ingredients:
            for theirs in other.ingredients:
                for cls in sorted(kb.classes_of.get(mine, frozenset()) & kb.classes_of.get(theirs, frozenset())
                                  & kb.duplicate_classes):
                    key = f"duplicate:class:{cls}:" + ":".join(sorted((mine, theirs), key=int))
                    alerts.setdefault(key, Alert(
                        "duplicate", "moderate", key,
                        f"Two {kb.class_labels[cls]}: {kb.name_of(mine)} and {kb.name_of(theirs)}",
                        f"{new.name} and {other.name} are both {kb.class_labels[cls]}; together they rarely add benefit "
                        "and add side effects.",
                        f"Replace {other.name} rather than adding {new.name}, unless both are intended.",
                        "duplicate therapy", [new.name, other.name], other.reference))
    return list(alerts.values())


def check_order(new: Drug, current: list[Drug], allergies: list[Allergy]) -> list[Alert]:
    """Every alert for ordering `new` for a patient on `current` with `allergies`, most severe first."""
    kb = knowledge()
    alerts = allergy_alerts(new, allergies, kb) + interaction_alerts(new, current, kb) + duplicate_alerts(new, current, kb)
    return sorted(alerts, key=lambda a: (SEVERITY_RANK[a.severity], a.kind, a.key))


def _label(severity: str) -> str:
    return {"contraindicated": "Contraindicated", "major": "Major", "moderate": "Moderate"}[severity]
