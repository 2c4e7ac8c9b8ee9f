"""The FHIR resources an eligibility check stores, and the summary a front desk reads back from them.

A check stores a CoverageEligibilityRequest (who was asked about, for which services, on which
date) and a CoverageEligibilityResponse:

- `outcome` complete when the payer answered, error when it rejected the inquiry (AAA) or no
  usable answer came back; `disposition` says it in one line;
- `insurance[0]`: the Coverage, `inforce` when the payer said, the benefit period, the plan name
  (extension `PLAN_NAME_URL`) and one `item` per service type (X12 service type codes) and network
  with the cost shares: copay, coinsurance (copay-percent), deductible and out-of-pocket maximum
  (allowed = the total, used = what is met so far; what remains, when the payer gave it, in the
  extension `REMAINING_URL`);
- `error[]`: each AAA rejection (code in `systems.X12_REJECT_REASON`, text in words), or the reason
  no answer could be used (code in `FAILURE_SYSTEM`).

`summary_of(response)` turns a stored response back into an `EligibilitySummary`; the check
itself, the schedule's status column and the reports all read the same thing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from mederi.billing.x12 import codes
from mederi.billing.x12.eligibility import EligibilityResult, Limit
from mederi.core import clock, systems

BENEFIT_TYPE = "http://terminology.hl7.org/CodeSystem/benefit-type"
BENEFIT_NETWORK = "http://terminology.hl7.org/CodeSystem/benefit-network"
BENEFIT_UNIT = "http://terminology.hl7.org/CodeSystem/benefit-unit"
BENEFIT_TERM = "http://terminology.hl7.org/CodeSystem/benefit-term"
OWN_BENEFIT_TYPE = "urn:mederi:benefit-type"  # out-of-pocket: R4's benefit-type list has no code for it
FAILURE_SYSTEM = "urn:mederi:eligibility-failure"  # not-sent, no-answer, unreadable-answer
PLAN_NAME_URL = "urn:mederi:eligibility-plan-name"
GROUP_NUMBER_URL = "urn:mederi:eligibility-group-number"
REMAINING_URL = "urn:mederi:benefit-remaining"
CURRENCY = "USD"
OFFICE_VISIT = "98"  # Professional (physician) visit - office
PLAN_WIDE = "30"  # Health benefit plan coverage

NOT_SENT, NO_ANSWER, UNREADABLE = "not-sent", "no-answer", "unreadable-answer"
FAILURE_NAMES = {
    NOT_SENT: "The inquiry could not be sent",
    NO_ANSWER: "The payer did not answer",
    UNREADABLE: "The payer's answer could not be read",
}


@dataclass(frozen=True)
class CheckFacts:
    """What every stored check names, answered or not."""

    request_id: str
    response_id: str
    patient_id: str
    coverage_id: str
    payer_id: str
    payer_name: str
    provider_id: str
    service_date: dt.date
    created: dt.datetime
    service_types: tuple[str, ...] = (PLAN_WIDE,)
    trace_number: str = ""


def _ref(resource_type: str, logical_id: str, display: str = "") -> dict:
    reference = {"reference": f"{resource_type}/{logical_id}"}
    if display:
        reference["display"] = display
    return reference


def _service_type(code: str) -> dict:
    name = codes.service_type_name(code)
    return {"coding": [{"system": systems.X12_SERVICE_TYPE, "code": code, "display": name}], "text": name}


def _concept(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _money(amount: Decimal) -> dict:
    return {"value": amount, "currency": CURRENCY}


def request_resource(facts: CheckFacts) -> dict:
    resource = {
        "resourceType": "CoverageEligibilityRequest",
        "status": "active",
        "purpose": ["validation", "benefits"],
        "patient": _ref("Patient", facts.patient_id),
        "servicedDate": facts.service_date.isoformat(),
        "created": clock.fhir_instant(facts.created),
        "provider": _ref("Organization", facts.provider_id),
        "insurer": _ref("Organization", facts.payer_id, facts.payer_name),
        "insurance": [{"focal": True, "coverage": _ref("Coverage", facts.coverage_id)}],
        "item": [{"category": _service_type(code)} for code in facts.service_types],
    }
    if facts.trace_number:
        resource["identifier"] = [{"system": systems.ELIGIBILITY_TRACE, "value": facts.trace_number}]
    return resource


def _response_base(facts: CheckFacts, outcome: str, disposition: str) -> dict:
    return {
        "resourceType": "CoverageEligibilityResponse",
        "status": "active",
        "purpose": ["validation", "benefits"],
        "patient": _ref("Patient", facts.patient_id),
        "servicedDate": facts.service_date.isoformat(),
        "created": clock.fhir_instant(facts.created),
        "requestor": _ref("Organization", facts.provider_id),
        "request": _ref("CoverageEligibilityRequest", facts.request_id),
        "outcome": outcome,
        "disposition": disposition,
        "insurer": _ref("Organization", facts.payer_id, facts.payer_name),
    }


# -- an answer -----------------------------------------------------------------------------------


def _percent_value(fraction: Decimal) -> dict:
    percent = (fraction * 100).normalize()
    if percent == percent.to_integral_value() and percent >= 0:
        return {"allowedUnsignedInt": int(percent)}
    return {"allowedString": format(percent, "f")}


def _limit_benefit(kind: dict, limit: Limit) -> dict | None:
    if limit.total is None and limit.remaining is None and limit.met is None:
        return None
    benefit: dict = {"type": kind}
    if limit.remaining is not None:
        benefit["extension"] = [{"url": REMAINING_URL, "valueMoney": _money(limit.remaining)}]
    if limit.total is not None:
        benefit["allowedMoney"] = _money(limit.total)
    used = limit.met
    if used is None and limit.total is not None and limit.remaining is not None and limit.total >= limit.remaining:
        used = limit.total - limit.remaining
    if used is not None:
        benefit["usedMoney"] = _money(used)
    return benefit


DEDUCTIBLE = _concept(BENEFIT_TYPE, "deductible", "Deductible")
COPAY = _concept(BENEFIT_TYPE, "copay", "Copayment per service")
COINSURANCE = _concept(BENEFIT_TYPE, "copay-percent", "Copayment percent (coinsurance)")
OUT_OF_POCKET = _concept(OWN_BENEFIT_TYPE, "out-of-pocket", "Out-of-pocket maximum")


def _cost_shares(result: EligibilityResult, service_type: str, in_network: bool, family: bool) -> list[dict]:
    benefits = []
    if not family:
        copay = result.copay(service_type, in_network)
        if copay is not None:
            benefits.append({"type": COPAY, "allowedMoney": _money(copay)})
        coinsurance = result.coinsurance(service_type, in_network)
        if coinsurance is not None:
            benefits.append({"type": COINSURANCE, **_percent_value(coinsurance)})
    for kind, limit in (
        (DEDUCTIBLE, result.deductible(in_network, family, service_type)),
        (OUT_OF_POCKET, result.out_of_pocket(in_network, family, service_type)),
    ):
        benefit = _limit_benefit(kind, limit)
        if benefit:
            benefits.append(benefit)
    return benefits


def _items(result: EligibilityResult, service_types: tuple[str, ...]) -> list[dict]:
    """One item per service type, network and unit that the payer gave cost shares for.

    The plan-wide item (30) carries the plan's lines; another service type's item carries only
    the lines the payer gave for that service type, so nothing is repeated under every item.
    """
    wanted = list(dict.fromkeys([PLAN_WIDE, *service_types,
                                 *(code for b in result.benefits for code in b.service_type_codes)]))
    items = []
    for in_network in (True, False):
        lines = [b for b in result.benefits if (b.network == "N") != in_network]
        if not lines:
            continue
        for service_type in wanted:
            if service_type == PLAN_WIDE:
                own = [b for b in lines if not b.service_types or PLAN_WIDE in b.service_type_codes]
            else:
                own = [b for b in lines if service_type in b.service_type_codes]
            if not own:
                continue
            scoped = EligibilityResult(benefits=own)
            for family in (False, True):
                benefits = _cost_shares(scoped, service_type, in_network, family)
                if not benefits:
                    continue
                items.append({
                    "category": _service_type(service_type),
                    "network": _concept(BENEFIT_NETWORK, *(("in", "In network") if in_network
                                                           else ("out", "Out of network"))),
                    "unit": _concept(BENEFIT_UNIT, *(("family", "Family") if family else ("individual", "Individual"))),
                    "term": _concept(BENEFIT_TERM, "annual", "Annual"),
                    "benefit": benefits,
                })
    return items


def _disposition(result: EligibilityResult) -> str:
    if result.rejections:
        return str(result.rejections[0])
    if result.active is True:
        return "Coverage active" + (f": {result.plan_name}" if result.plan_name else "")
    if result.active is False:
        ended = result.coverage_end
        return "Coverage not active" + (f" (ended {ended.isoformat()})" if ended else "")
    return "The payer answered without saying whether the coverage is active"


def answered_response(facts: CheckFacts, result: EligibilityResult) -> dict:
    """The response for a 271 that was read: benefits, or the payer's rejections in words."""
    resource = _response_base(facts, "error" if result.rejections else "complete", _disposition(result))
    insurance: dict = {"coverage": _ref("Coverage", facts.coverage_id)}
    extensions = []
    if result.plan_name:
        extensions.append({"url": PLAN_NAME_URL, "valueString": result.plan_name})
    if result.group_number:
        extensions.append({"url": GROUP_NUMBER_URL, "valueString": result.group_number})
    if extensions:
        insurance["extension"] = extensions
    if result.active is not None and not result.rejections:
        insurance["inforce"] = result.active
    period = {}
    if result.coverage_start:
        period["start"] = result.coverage_start.isoformat()
    if result.coverage_end:
        period["end"] = result.coverage_end.isoformat()
    if period:
        insurance["benefitPeriod"] = period
    items = _items(result, facts.service_types)
    if items:
        insurance["item"] = items
    resource["insurance"] = [insurance]
    if result.rejections:
        resource["error"] = [
            {"code": {"coding": [{"system": systems.X12_REJECT_REASON, "code": rejection.code,
                                  "display": rejection.reason}], "text": str(rejection)}}
            for rejection in result.rejections
        ]
    return resource


def failed_response(facts: CheckFacts, failure: str, message: str) -> dict:
    """The response for a check that got no usable answer: why, in words."""
    resource = _response_base(facts, "error", message)
    resource["insurance"] = [{"coverage": _ref("Coverage", facts.coverage_id)}]
    resource["error"] = [{"code": {"coding": [{"system": FAILURE_SYSTEM, "code": failure,
                                               "display": FAILURE_NAMES[failure]}], "text": message}}]
    return resource


# -- reading a stored response back --------------------------------------------------------------


@dataclass(frozen=True)
class EligibilitySummary:
    """What the front desk needs from one check; money is Decimal, percentages are 0-100."""

    coverage_id: str
    patient_id: str
    payer_id: str
    payer_name: str
    status: str  # active, inactive, unknown, rejected, failed
    outcome: str  # complete or error (the FHIR outcome)
    active: bool | None
    plan_name: str
    copay: Decimal | None  # for an office visit (service type 98), or the plan-wide one (30)
    copay_service_type: str
    coinsurance_percent: Decimal | None
    deductible: Decimal | None
    deductible_remaining: Decimal | None
    out_of_pocket: Decimal | None
    out_of_pocket_remaining: Decimal | None
    messages: tuple[str, ...]
    checked_at: dt.datetime | None
    service_date: dt.date | None
    request_id: str
    response_id: str
    disposition: str = ""
    benefit_period: tuple[str, str] = field(default=("", ""))

    LABELS = {
        "active": "Active",
        "inactive": "Not active",
        "unknown": "Not confirmed",
        "rejected": "Rejected",
        "failed": "Check failed",
    }

    @property
    def label(self) -> str:
        return self.LABELS.get(self.status, self.status)

    @property
    def is_problem(self) -> bool:
        return self.status in ("inactive", "rejected", "failed")

    @property
    def answered(self) -> bool:
        return self.status != "failed"


def _decimal(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _money_value(money) -> Decimal | None:
    return _decimal(money.get("value")) if isinstance(money, dict) else None


def _code_of(concept, system: str) -> str:
    for coding in (concept or {}).get("coding") or ():
        if coding.get("system") == system:
            return coding.get("code") or ""
    return ""


def _id_of(reference, resource_type: str) -> str:
    text = (reference or {}).get("reference") or ""
    prefix = f"{resource_type}/"
    return text[len(prefix):] if text.startswith(prefix) else ""


def _extension(element: dict, url: str):
    for extension in element.get("extension") or ():
        if extension.get("url") == url:
            return extension
    return None


def _items_by_service(insurance: dict) -> dict[str, list[dict]]:
    """In-network, individual items by service type code (what the summary is made of)."""
    found: dict[str, list[dict]] = {}
    for item in insurance.get("item") or ():
        if _code_of(item.get("network"), BENEFIT_NETWORK) == "out":
            continue
        if _code_of(item.get("unit"), BENEFIT_UNIT) == "family":
            continue
        found.setdefault(_code_of(item.get("category"), systems.X12_SERVICE_TYPE), []).append(item)
    return found


def _benefit(items: list[dict], system: str, code: str) -> dict | None:
    for item in items:
        for benefit in item.get("benefit") or ():
            if _code_of(benefit.get("type"), system) == code:
                return benefit
    return None


def _limit_of(benefit: dict | None) -> tuple[Decimal | None, Decimal | None]:
    """(total, remaining) of a deductible or out-of-pocket benefit."""
    if benefit is None:
        return None, None
    total = _money_value(benefit.get("allowedMoney"))
    remaining_extension = _extension(benefit, REMAINING_URL)
    if remaining_extension:
        return total, _money_value(remaining_extension.get("valueMoney"))
    used = _money_value(benefit.get("usedMoney"))
    return total, (total - used if total is not None and used is not None else None)


def _percent_of(benefit: dict | None) -> Decimal | None:
    if benefit is None:
        return None
    if "allowedUnsignedInt" in benefit:
        return Decimal(benefit["allowedUnsignedInt"])
    if "allowedString" in benefit:
        try:
            return Decimal(benefit["allowedString"])
        except ArithmeticError:
            return None
    return None


def _instant(text) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _date(text) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def summary_of(response: dict) -> EligibilitySummary:
    """The summary of a stored CoverageEligibilityResponse."""
    insurance = (response.get("insurance") or [{}])[0]
    errors = response.get("error") or []
    failed = any(_code_of(error.get("code"), FAILURE_SYSTEM) for error in errors)
    inforce = insurance.get("inforce")
    if failed:
        status = "failed"
    elif errors:
        status = "rejected"
    else:
        status = {True: "active", False: "inactive"}.get(inforce, "unknown")
    messages = [error["code"].get("text") or "" for error in errors if error.get("code")]
    if not messages and status in ("inactive", "unknown"):
        messages = [response.get("disposition") or ""]
    by_service = _items_by_service(insurance)
    plan_wide = by_service.get(PLAN_WIDE, [])
    copay_service_type, copay = "", None
    for service_type in (OFFICE_VISIT, PLAN_WIDE):
        benefit = _benefit(by_service.get(service_type, []), BENEFIT_TYPE, "copay")
        if benefit is not None:
            copay_service_type, copay = service_type, _money_value(benefit.get("allowedMoney"))
            break
    deductible, deductible_remaining = _limit_of(_benefit(plan_wide, BENEFIT_TYPE, "deductible"))
    out_of_pocket, out_of_pocket_remaining = _limit_of(_benefit(plan_wide, OWN_BENEFIT_TYPE, "out-of-pocket"))
    coinsurance = _percent_of(_benefit(plan_wide, BENEFIT_TYPE, "copay-percent") or _benefit(
        by_service.get(OFFICE_VISIT, []), BENEFIT_TYPE, "copay-percent"))
    plan = _extension(insurance, PLAN_NAME_URL)
    period = insurance.get("benefitPeriod") or {}
    return EligibilitySummary(
        coverage_id=_id_of(insurance.get("coverage"), "Coverage"),
        patient_id=_id_of(response.get("patient"), "Patient"),
        payer_id=_id_of(response.get("insurer"), "Organization"),
        payer_name=(response.get("insurer") or {}).get("display", ""),
        status=status,
        outcome=response.get("outcome", ""),
        active=inforce if isinstance(inforce, bool) else None,
        plan_name=plan.get("valueString", "") if plan else "",
        copay=copay,
        copay_service_type=copay_service_type,
        coinsurance_percent=coinsurance,
        deductible=deductible,
        deductible_remaining=deductible_remaining,
        out_of_pocket=out_of_pocket,
        out_of_pocket_remaining=out_of_pocket_remaining,
        messages=tuple(message for message in messages if message),
        checked_at=_instant(response.get("created")),
        service_date=_date(response.get("servicedDate")),
        request_id=_id_of(response.get("request"), "CoverageEligibilityRequest"),
        response_id=response.get("id", ""),
        disposition=response.get("disposition", ""),
        benefit_period=(period.get("start", ""), period.get("end", "")),
    )
