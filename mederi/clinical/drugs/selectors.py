"""Reading the drug catalogue."""

from __future__ import annotations

from mederi.clinical.drugs.catalogue import search_key
from mederi.clinical.drugs.models import DrugConcept

# What a prescriber usually wants first: a clinical drug or its ingredient, then brands and packs.
_TERM_TYPE_ORDER = {"SCD": 0, "IN": 1, "SBD": 2, "BN": 3, "MIN": 4, "PIN": 5, "GPCK": 6, "BPCK": 7}


def search_drugs(text: str, limit: int = 20) -> list[DrugConcept]:
    """Concepts whose name begins with `text` (case and accents ignored), for search as you type.

    The index on `search_name` is walked in order over the prefix's range (a range is what SQLite
    can seek; PostgreSQL's index is built for LIKE prefixes), so the answer costs the same with
    the starter list and with a full RxNorm release. Shorter names come first within a page.
    """
    low = search_key(text.strip())
    if not low:
        return []
    high = low[:-1] + chr(ord(low[-1]) + 1)
    rows = list(DrugConcept.objects.filter(search_name__gte=low, search_name__lt=high, search_name__startswith=low)
                .order_by("search_name")[: limit * 5])
    rows.sort(key=lambda d: (_TERM_TYPE_ORDER.get(d.term_type, 9), len(d.name), d.search_name))
    return rows[:limit]


def drug_by_rxcui(rxcui: str) -> DrugConcept | None:
    return DrugConcept.objects.filter(rxcui=rxcui).first()


def drugs_by_rxcui(rxcuis) -> dict[str, DrugConcept]:
    return {d.rxcui: d for d in DrugConcept.objects.filter(rxcui__in=list(rxcuis))}
