"""Reading the starter catalogue shipped with the code, and storing concepts."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from mederi.fhir.values import normalize_string

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
TERM_TYPES = ("IN", "PIN", "MIN", "BN", "SCD", "SBD", "GPCK", "BPCK")


@dataclass(frozen=True)
class Concept:
    rxcui: str
    name: str
    term_type: str
    ingredients: tuple[str, ...] = ()
    dose_form: str = ""
    strength: str = ""


def search_key(name: str) -> str:
    return normalize_string(name)[:255]


def starter_concepts() -> list[Concept]:
    """Ingredients (each its own ingredient) and clinical drugs from the shipped CSV files."""
    concepts = []
    with open(KNOWLEDGE / "ingredients.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            concepts.append(Concept(row["rxcui"], row["name"], "IN", (row["rxcui"],)))
    with open(KNOWLEDGE / "clinical_drugs.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            concepts.append(Concept(row["rxcui"], row["name"], row["tty"], tuple(row["ingredients"].split()),
                                    row["dose_form"], row["strength"]))
    return concepts


def _model(concept: Concept, source: str):
    from mederi.clinical.drugs.models import DrugConcept

    return DrugConcept(rxcui=concept.rxcui, name=concept.name, search_name=search_key(concept.name),
                       term_type=concept.term_type, ingredients=" ".join(concept.ingredients),
                       dose_form=concept.dose_form, strength=concept.strength, source=source)


def load_starter_catalogue(using: str = "default") -> int:
    """Add the shipped concepts the catalogue lacks; refresh those it got from an older list.

    Concepts loaded from a full RxNorm release are left as they are: that release is newer
    and more complete than the starter list. Returns how many rows were added or changed.
    """
    from mederi.clinical.drugs.models import DrugConcept

    wanted = {c.rxcui: _model(c, DrugConcept.STARTER) for c in starter_concepts()}
    fields = ("name", "search_name", "term_type", "ingredients", "dose_form", "strength")
    with transaction.atomic(using=using):
        existing = {d.rxcui: d for d in DrugConcept.objects.using(using).filter(rxcui__in=list(wanted))}
        new = [d for rxcui, d in wanted.items() if rxcui not in existing]
        changed = []
        for rxcui, stored in existing.items():
            shipped = wanted[rxcui]
            if stored.source == DrugConcept.STARTER and any(getattr(stored, f) != getattr(shipped, f) for f in fields):
                for f in fields:
                    setattr(stored, f, getattr(shipped, f))
                changed.append(stored)
        DrugConcept.objects.using(using).bulk_create(new, batch_size=500)
        DrugConcept.objects.using(using).bulk_update(changed, fields, batch_size=500)
    return len(new) + len(changed)


def replace_catalogue(concepts: list[Concept], source: str) -> int:
    """The catalogue becomes exactly `concepts`, in one transaction (all or nothing)."""
    from mederi.clinical.drugs.models import DrugConcept

    with transaction.atomic():
        DrugConcept.objects.all().delete()
        DrugConcept.objects.bulk_create((_model(c, source) for c in concepts), batch_size=2000)
    return len(concepts)
