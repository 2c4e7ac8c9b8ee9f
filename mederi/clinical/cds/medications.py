"""From FHIR resources to the values the checks work on, and reading what the checks need."""

from __future__ import annotations

import re

from mederi.audit import services as audit
from mederi.clinical.cds.checks import Allergy, Drug
from mederi.clinical.cds.knowledge import knowledge
from mederi.fhir.repository import Repository
from mederi.fhir.values import normalize_string

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
_INACTIVE_ALLERGY = {"inactive", "resolved"}
_NOT_AN_ALLERGY = {"refuted", "entered-in-error"}


def _codings(concept) -> list[dict]:
    return [c for c in (concept or {}).get("coding") or [] if isinstance(c, dict)]


def _texts(concept) -> list[str]:
    concept = concept or {}
    texts = [concept.get("text")] + [c.get("display") for c in _codings(concept)]
    return [t for t in texts if isinstance(t, str) and t.strip()]


def _names_in(text: str) -> set[str]:
    """Ingredient RxCUIs and allergen classes named in free text, by whole words."""
    kb = knowledge()
    words = f" {re.sub(r'[^a-z0-9]+', ' ', normalize_string(text))} "
    found = {key for name, key in kb.allergen_names.items() if f" {name} " in words}
    found |= {rxcui for rxcui, name in kb.ingredient_names.items() if f" {normalize_string(name)} " in words}
    return found


def _ingredients_of_code(code: str, catalogue: dict) -> tuple[str, ...]:
    if code in knowledge().ingredient_names:
        return (code,)
    concept = catalogue.get(code)
    return tuple(concept.ingredient_rxcuis) if concept is not None else ()


def _catalogue_for(concepts: list) -> dict:
    from mederi.clinical.drugs.selectors import drugs_by_rxcui

    codes = {c.get("code") for concept in concepts for c in _codings(concept)
             if c.get("system") == RXNORM and isinstance(c.get("code"), str)}
    return drugs_by_rxcui(codes) if codes else {}


def drugs_from(resources: list[dict]) -> list[Drug]:
    """MedicationRequests and MedicationStatements as drugs (by their RxNorm code, else their text)."""
    concepts = [r.get("medicationCodeableConcept") for r in resources]
    catalogue = _catalogue_for(concepts)
    drugs = []
    for resource, concept in zip(resources, concepts):
        if concept is None:
            continue
        rxcui, ingredients = None, ()
        for coding in _codings(concept):
            if coding.get("system") == RXNORM and isinstance(coding.get("code"), str):
                rxcui = coding["code"]
                ingredients = _ingredients_of_code(rxcui, catalogue)
                if ingredients:
                    break
        if not ingredients:  # a code we do not know, or none: read the name
            ingredients = tuple(sorted((k for t in _texts(concept) for k in _names_in(t) if k.isdigit()), key=int))
        if not ingredients:
            continue
        names = _texts(concept)
        name = names[0] if names else " / ".join(knowledge().name_of(i) for i in ingredients)
        reference = f"{resource.get('resourceType')}/{resource['id']}" if resource.get("id") else None
        drugs.append(Drug(name, tuple(dict.fromkeys(ingredients)), rxcui, reference))
    return drugs


def allergies_from(resources: list[dict]) -> list[Allergy]:
    kb = knowledge()
    concepts = [r.get("code") for r in resources]
    catalogue = _catalogue_for(concepts)
    allergies = []
    for resource, concept in zip(resources, concepts):
        clinical = {c.get("code") for c in _codings(resource.get("clinicalStatus"))}
        verification = {c.get("code") for c in _codings(resource.get("verificationStatus"))}
        if clinical & _INACTIVE_ALLERGY or verification & _NOT_AN_ALLERGY or not concept:
            continue
        allergens: set[str] = set()
        for coding in _codings(concept):
            code, system = coding.get("code"), coding.get("system")
            if system == RXNORM:
                allergens |= set(_ingredients_of_code(code, catalogue))
                allergens |= {kb.allergen_codes[("rxnorm", code)]} if ("rxnorm", code) in kb.allergen_codes else set()
            elif system == SNOMED and ("snomed", code) in kb.allergen_codes:
                allergens.add(kb.allergen_codes[("snomed", code)])
        for text in _texts(concept):
            allergens |= _names_in(text)
        if allergens:
            names = _texts(concept)
            allergies.append(Allergy(names[0] if names else "a recorded allergen", frozenset(allergens),
                                     f"AllergyIntolerance/{resource['id']}" if resource.get("id") else None))
    return allergies


# -- reading the record for a hook without prefetch ---------------------------------------------------

ACTIVE_QUERIES = {
    "medications": ("MedicationRequest", [("status", "active")]),
    "statements": ("MedicationStatement", [("status", "active")]),
    "allergies": ("AllergyIntolerance", []),
}


def read_for_patient(repo: Repository, key: str, patient_id: str) -> list[dict]:
    """The patient's resources for one prefetch key, read as the caller (authorized) and audited."""
    resource_type, params = ACTIVE_QUERIES[key]
    items = [("patient", patient_id), *params, ("_count", "1000")]
    result = repo.search(resource_type, items)
    found = [s.as_dict() for s in result.matches]
    query = f"{resource_type}?" + "&".join(f"{k}={v}" for k, v in items)
    audit.record(repo.context, "search", patient_id=patient_id, resource_type=resource_type,
                 resource_ids=[f"{resource_type}/{r['id']}" for r in found], query=query, detail={"for": "cds"})
    return found


def resources_of(bundle_or_list) -> list[dict]:
    """The resources in a prefetched Bundle (searchset) or a list."""
    if isinstance(bundle_or_list, dict) and bundle_or_list.get("resourceType") == "Bundle":
        return [e["resource"] for e in bundle_or_list.get("entry") or []
                if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    if isinstance(bundle_or_list, list):
        return [r for r in bundle_or_list if isinstance(r, dict)]
    return []
