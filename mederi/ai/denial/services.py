"""Writes of denial risk: training a model from the practice's remittance history, and scoring a claim.

A score is a draft. It is stored in the record as a RiskAssessment (status preliminary, the exact Claim
version as its basis) with a Provenance naming the engine and model version, both written by the system
context "ai" as the coding suggestions are; a `RiskScore` row points to them for the claims list. Nothing is
blocked by a score: the biller sees it beside the claim and decides whether to send, fix or hold it. Every
score and every training is audited (`ai-risk`, `ai-train`) under whoever asked, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max

from mederi.audit import services as audit
from mederi.billing import claim_status, practice
from mederi.billing.claims import scrubber
from mederi.billing.claims.charges import ref_id
from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import Gone, InvalidRequest, NotFound
from mederi.fhir.repository import Repository

from . import history
from .features import claim_facts
from .model import Model, NoHistory, rules_only_model, train
from .models import DenialModel, RiskScore

ENGINE = "mederi-denial-risk"
METHOD = "smoothed-rates-logistic"
OPEN = (claim_status.DRAFT, claim_status.SCRUBBED, claim_status.REJECTED)  # not yet with the payer
WINDOW_MONTHS = 12


def _months_before(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 - months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, 28))


def train_model(context: Context, *, today: dt.date | None = None, months: int = WINDOW_MONTHS) -> DenialModel:
    """Learn a new model version from the answers to claims served in the last `months` months."""
    context.require("financial.write", "Retraining the denial-risk model needs the financial.write permission.")
    if not 1 <= months <= 60:
        raise InvalidRequest.single("Choose a training window of 1 to 60 months.", expression="months")
    end = (today or practice.today()) + dt.timedelta(days=1)
    start = _months_before(end, months)
    outcomes, names = history.load(Repository(context), start, end)
    try:
        fitted = train(outcomes, start=start, end=end, payer_names=names)
    except NoHistory as error:
        raise InvalidRequest.single(str(error)) from None
    for _ in range(3):  # two trainings at once: the second takes the next version
        try:
            with transaction.atomic():
                version = (DenialModel.objects.aggregate(top=Max("version"))["top"] or 0) + 1
                row = DenialModel.objects.create(
                    version=version, trained_by=audit.actor_name(context)[:150], window_start=start,
                    window_end=end, lines=fitted.lines, claims=fitted.claims, denied=fitted.denied,
                    parameters=fitted.as_dict())
                audit.record(context, "ai-train", resource_type="Claim",
                             detail={"model": ENGINE, "version": version, "window": [str(start), str(end)],
                                     "claims": fitted.claims, "lines": fitted.lines, "denied": fitted.denied})
            return row
        except IntegrityError:
            continue
    raise InvalidRequest.single("Another training was storing its model at the same moment: try again.")


def active_model() -> DenialModel | None:
    """The newest model, without its parameters (they are read once per process by `_model_of`)."""
    return DenialModel.objects.defer("parameters").order_by("-version").first()


@functools.lru_cache(maxsize=4)
def _parameters(pk: int, version: int, trained_at: dt.datetime) -> Model:
    return Model.from_dict(DenialModel.objects.get(pk=pk).parameters)


def _model_of(row: DenialModel) -> Model:
    # Keyed by when it was trained as well: a database rebuilt from scratch reuses versions.
    return _parameters(row.pk, row.version, row.trained_at)


def _payer_of(repository: Repository, claim: dict) -> str:
    focal = next((i for i in claim.get("insurance") or () if i.get("focal")), None)
    if focal is None:
        return ""
    try:
        coverage = repository.read("Coverage", ref_id(focal.get("coverage"), "Coverage")).as_dict()
    except (NotFound, Gone):
        return ""
    return ref_id((coverage.get("payor") or [{}])[0], "Organization")


def _stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _decimal(value: float) -> Decimal:
    return Decimal(str(round(value, 4)))


def score_claim(context: Context, claim_id: str) -> RiskScore:
    """Score the claim's current version with the newest model (or the rules alone), once per version and model."""
    context.require("financial.read", "Seeing a claim's denial risk needs the financial.read permission.")
    repository = Repository(context)
    try:
        stored = repository.read("Claim", claim_id)
    except (NotFound, Gone):
        raise InvalidRequest.single(f"There is no claim {claim_id} to score: open it from the claims list.",
                                    expression="claim") from None
    claim = stored.as_dict()
    if not claim.get("item"):
        raise InvalidRequest.single(f"Claim {claim_status.claim_number(claim)} has no lines to score: add its charges "
                                    "first.", expression="item")
    model_row = active_model()
    version = model_row.version if model_row else 0
    earlier = RiskScore.objects.filter(claim_id=claim_id, claim_version=stored.version_id, model_version=version).first()
    if earlier is not None:
        return earlier
    findings = scrubber.findings(repository, claim)
    fitted = _model_of(model_row) if model_row else rules_only_model()
    score = fitted.score(claim_facts(claim, _payer_of(repository, claim), findings),
                         [(issue.severity, f"Scrubber: {issue.diagnostics}") for issue in findings])
    patient_id = ref_id(claim.get("patient"), "Patient")
    engine = (f"{ENGINE} (model {METHOD}, version {version}, trained on dates of service {model_row.window_start} to "
              f"{model_row.window_end})" if model_row else f"{ENGINE} (the scrubber's rules alone: no model trained yet)")
    claim_version = f"Claim/{claim_id}/_history/{stored.version_id}"
    reasons = score.reasons or [_no_reason(score, model_row)]
    now = _stamp(clock.now())
    system = Repository(Context.system("ai"))
    with transaction.atomic():
        assessment = system.create({
            "resourceType": "RiskAssessment", "status": "preliminary",
            "method": {"coding": [{"system": f"urn:mederi:ai:{ENGINE}", "code": f"{METHOD}-{version}"}],
                       "text": engine},
            "code": {"text": "Denial risk of a claim before it is sent"},
            "subject": {"reference": f"Patient/{patient_id}"}, "occurrenceDateTime": now,
            "basis": [{"reference": claim_version}],
            "prediction": [
                {"outcome": {"text": "The payer denies the claim or a line of it"},
                 "probabilityDecimal": _decimal(score.probability),
                 "rationale": " ".join(r.text for r in reasons)[:2000]},
                {"outcome": {"text": "The same, by the scrubber's rules alone"},
                 "probabilityDecimal": _decimal(score.rules_probability)}],
            "note": [{"text": "Draft: a person decides whether to send, fix or hold the claim."}],
        }).stored
        provenance = system.create({
            "resourceType": "Provenance", "target": [{"reference": f"RiskAssessment/{assessment.logical_id}"}],
            "recorded": now, "activity": {"text": "denial-risk score (a draft; it blocks nothing)"},
            "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                            "code": "assembler"}]},
                       "who": {"display": engine}}],
            "entity": [{"role": "source", "what": {"reference": claim_version}}],
        }).stored
        row = RiskScore.objects.create(
            claim_id=claim_id, claim_version=stored.version_id, claim_number=claim_status.claim_number(claim)[:40],
            patient_id=patient_id, model_version=version, probability=score.probability,
            rules_probability=score.rules_probability, reasons=[r.as_dict() for r in reasons],
            risk_assessment_id=assessment.logical_id, provenance_id=provenance.logical_id,
            created_by=audit.actor_name(context)[:150])
        audit.record(context, "ai-risk", patient_id=patient_id, resource_type="RiskAssessment",
                     resource_ids=[assessment.logical_id],
                     detail={"claim": claim_id, "claim_version": stored.version_id, "model": version,
                             "probability": round(score.probability, 4)})
    return row


def _no_reason(score, model_row: DenialModel | None):
    from .model import Reason

    if model_row is None:
        return Reason("No remittance history has been learned yet: this is the scrubber's rules and a usual "
                      "first-pass denial rate alone.", 0.0, "rules")
    if not score.from_history:
        return Reason("The history has no claim like this one (payer, codes, diagnoses): this is the rules-only "
                      "score.", 0.0, "rules")
    return Reason("Nothing in the scrubber's findings or the history raises this claim's risk.", 0.0, "history")


def score_open_claims(context: Context, limit: int = 500) -> int:
    """Score every claim not yet with a payer whose current version the newest model has not scored."""
    repository = Repository(context)
    found = repository.search("Claim", [("_sort", "-_lastUpdated"), ("_count", str(limit))], first_page_only=True)
    claims = [(s.logical_id, s.version_id) for s in found.matches
              if claim_status.status_of(s.as_dict()) in OPEN]
    model_row = active_model()
    version = model_row.version if model_row else 0
    done = set(RiskScore.objects.filter(claim_id__in=[c for c, _ in claims], model_version=version)
               .values_list("claim_id", "claim_version"))
    scored = 0
    for claim_id, claim_version in claims:
        if (claim_id, claim_version) not in done:
            try:
                score_claim(context, claim_id)
                scored += 1
            except InvalidRequest:
                continue  # a claim without lines waits for its charges
    return scored
