"""Finding what an 835 talks about: our Claims by claim number (CLP01 = CLM01), each service line by its
REF*6R line control number or else by procedure and charge, and the payer Organization.

Claims are found through the identifier index and then read through the repository, each in one query
on PostgreSQL (an array of numbers) and in chunks of 2,000 on SQLite.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from mederi.billing import claim_status
from mederi.billing.claims.claims import frequency_of
from mederi.billing.x12.remittance import ServiceLine
from mederi.core import clock, systems
from mederi.core.errors import MederiError
from mederi.fhir import rows
from mederi.fhir.models import SearchToken
from mederi.fhir.repository import Repository

CHUNK = 200


@dataclass
class ClaimMatch:
    claim: dict
    payer_id: str  # the Organization the claim was sent to (its focal coverage's payor)

    @property
    def claim_id(self) -> str:
        return self.claim["id"]

    @property
    def patient_id(self) -> str:
        return self.claim["patient"]["reference"].split("/", 1)[1]

    @property
    def total(self) -> Decimal:
        return Decimal(str(self.claim.get("total", {}).get("value", "0")))

    @property
    def is_secondary(self) -> bool:
        """Billed to a later payer (coordination of benefits): the focal coverage is not the first."""
        return _focal(self.claim).get("sequence", 1) > 1

    @property
    def is_void(self) -> bool:
        return frequency_of(self.claim) == "8"

    @property
    def replaces(self) -> str:
        """The Claim a corrected (frequency 7) or void (8) claim replaces, when it was made here; else ""."""
        if frequency_of(self.claim) not in ("7", "8"):
            return ""
        return _reference_id((self.claim.get("related") or [{}])[0].get("claim"), "Claim")

    @property
    def service_date(self) -> dt.date:
        """The day of service (the billing period's start, else the day the claim was made; today if neither reads)."""
        period = self.claim.get("billablePeriod") or {}
        try:
            return dt.date.fromisoformat((period.get("start") or self.claim.get("created", ""))[:10])
        except ValueError:
            return clock.now().date()


def _search_all(repository: Repository, resource_type: str, parameter: str, values: list[str]) -> list[dict]:
    found = []
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        result = repository.search(resource_type, [(parameter, ",".join(chunk)), ("_count", "1000")],
                                   first_page_only=True)
        found += [stored.as_dict() for stored in result.matches]
    return found


def _reference_id(reference: dict | None, resource_type: str) -> str:
    text = (reference or {}).get("reference", "")
    prefix = f"{resource_type}/"
    return text[len(prefix):] if text.startswith(prefix) else ""


def _claim_ids(claim_numbers: list[str]) -> list[str]:
    """Ids of the Claims carrying these numbers, straight from the identifier index.

    A search ORing hundreds of identifiers cost seconds per chunk; the index lookup costs
    milliseconds (as plain SQL: compiling the ORM's IN list cost more than running it). The
    Claims themselves are then read through the repository, access checked.
    """
    ids = set()
    with connection.cursor() as cursor:
        for chunk in rows.chunks(claim_numbers):
            among, values = rows.one_of("t.code", chunk)
            cursor.execute(
                f"SELECT r.logical_id FROM {SearchToken._meta.db_table} t JOIN fhir_resource r ON r.id = t.resource_id "
                f"WHERE t.resource_type = %s AND t.param = %s AND {among} AND t.system = %s AND r.deleted = %s",
                ["Claim", "identifier", *values, systems.CLAIM_NUMBER, False])
            ids.update(found for (found,) in cursor.fetchall())
    return sorted(ids)


def find_claims(repository: Repository, claim_numbers: list[str]) -> dict[str, list[ClaimMatch]]:
    """Every Claim carrying each claim number, with the payer it went to."""
    wanted = sorted({number for number in claim_numbers if number})
    claims = [stored.as_dict() for stored in repository.read_many("Claim", _claim_ids(wanted))]
    payors: dict[str, str] = {}
    for coverage in _coverages(repository, sorted({_focal_coverage(claim) for claim in claims} - {""})):
        payors[coverage["id"]] = next((_reference_id(p, "Organization") for p in coverage.get("payor", ())), "")
    matches: dict[str, list[ClaimMatch]] = {}
    wanted_set = set(wanted)
    for claim in claims:
        number = claim_status.claim_number(claim)
        if number in wanted_set:
            matches.setdefault(number, []).append(ClaimMatch(claim, payors.get(_focal_coverage(claim), "")))
    return matches


def _coverages(repository: Repository, coverage_ids: list[str]) -> list[dict]:
    """The Coverages the reader may see; one gone or not for this reader leaves the 835's own payer to stand in."""
    try:
        return [stored.as_dict() for stored in repository.read_many("Coverage", coverage_ids)]
    except MederiError:
        found = []
        for coverage_id in coverage_ids:
            try:
                found.append(repository.read("Coverage", coverage_id).as_dict())
            except MederiError:
                continue
        return found


def _focal(claim: dict) -> dict:
    """The insurance entry the claim is billed to (the first when none is marked focal), or {}."""
    insurance = claim.get("insurance") or []
    return next((entry for entry in insurance if entry.get("focal")), insurance[0] if insurance else {})


def _focal_coverage(claim: dict) -> str:
    return _reference_id(_focal(claim).get("coverage"), "Coverage")


def find_payer(repository: Repository, payer_id: str) -> str:
    """The payer Organization whose X12 payer id is `payer_id`, or "" when there is not exactly one."""
    if not payer_id:
        return ""
    found = _search_all(repository, "Organization", "identifier", [f"{systems.PAYER_ID}|{payer_id}"])
    return found[0]["id"] if len(found) == 1 else ""


def _code(item: dict) -> str:
    codings = (item.get("productOrService") or {}).get("coding") or [{}]
    return codings[0].get("code", "")


def match_line(claim: dict, line: ServiceLine, taken: set[int]) -> int | None:
    """The item sequence of the Claim that an 835 service line pays, or None when none fits."""
    number = claim_status.claim_number(claim) or ""
    items = [item for item in claim.get("item", ()) if item["sequence"] not in taken]
    if line.control_number:
        for item in items:
            if claim_status.line_control_number(number, item["sequence"]) == line.control_number:
                return item["sequence"]
    for item in items:
        net = Decimal(str((item.get("net") or {}).get("value", "0")))
        if _code(item) == line.procedure and net == line.charge:
            return item["sequence"]
    return None
