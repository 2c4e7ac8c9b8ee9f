"""How likely a patient being registered is someone the practice already has.

A `Probe` is what was typed, normalised once; `score` compares it with one stored Patient on
four things — family name, given name (nicknames forgiven), date of birth (a swapped day and
month or one wrong digit half-forgiven), phone (digits) and address (street words abbreviated)
— each weighted, over the things both sides have. Comparing only a name is not enough to call
two people the same, so a score without a date of birth is held below the threshold unless
phone or address agree too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mederi.patients import matching, records
from mederi.patients.rules import date_value, text

THRESHOLD = 0.75
WEIGHTS = {"family": 0.3, "given": 0.2, "birth_date": 0.3, "phone": 0.1, "address": 0.1}
REASONS = {"family": "same family name", "given": "same given name", "birth_date": "same date of birth",
           "phone": "same phone", "address": "same address"}
CLOSE = {"family": "similar family name", "given": "similar given name", "birth_date": "similar date of birth",
         "phone": "similar phone", "address": "similar address"}


@dataclass(frozen=True)
class Probe:
    family: str
    given: str
    birth_date: str
    phone: str
    address: str

    @classmethod
    def from_registration(cls, data, today: date) -> "Probe":
        born = date_value(data, "birth_date", today)
        return cls(
            family=matching.normalize_name(text(data, "family")),
            given=text(data, "given"),
            birth_date=born.isoformat() if born else "",
            phone=matching.phone_digits(text(data, "phone")),
            address=matching.normalize_address(text(data, "address_line"), text(data, "postal_code")),
        )

    @classmethod
    def from_patient(cls, patient: dict) -> "Probe":
        name = records.official_name(patient)
        address = next(iter(patient.get("address") or ()), {})
        return cls(
            family=matching.normalize_name(name.get("family")),
            given=" ".join(name.get("given") or ()),
            birth_date=patient.get("birthDate") or "",
            phone=matching.phone_digits(records.telecom_value(patient, "phone")),
            address=matching.normalize_address((address.get("line") or [""])[0], address.get("postalCode")),
        )


def _parts(probe: Probe, other: Probe) -> dict[str, float]:
    """Similarity of each thing both have (0..1)."""
    parts = {}
    if probe.family and other.family:
        parts["family"] = matching.name_similarity(probe.family, other.family)
    if probe.given and other.given:
        parts["given"] = matching.given_similarity(probe.given, other.given)
    if probe.birth_date and other.birth_date:
        parts["birth_date"] = matching.birth_date_similarity(probe.birth_date, other.birth_date)
    if len(probe.phone) >= 7 and len(other.phone) >= 7:
        parts["phone"] = 1.0 if probe.phone == other.phone else 0.0
    if probe.address and other.address:
        parts["address"] = matching.address_similarity(probe.address, other.address)
    return parts


def score(probe: Probe, patient: dict) -> tuple[float, list[str]]:
    """(0..1, the reasons in words) for how likely `patient` is the person described by `probe`."""
    parts = _parts(probe, Probe.from_patient(patient))
    weight = sum(WEIGHTS[key] for key in parts)
    if not weight:
        return 0.0, []
    total = sum(WEIGHTS[key] * value for key, value in parts.items()) / weight
    if "birth_date" not in parts and not any(parts.get(k, 0) > 0.9 for k in ("phone", "address")):
        total *= 0.8  # a name alone does not make the same person
    reasons = [REASONS[key] if value >= 0.99 else CLOSE[key] for key, value in parts.items() if value >= 0.85]
    return round(total, 3), reasons
