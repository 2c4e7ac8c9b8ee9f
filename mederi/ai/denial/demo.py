"""Denial risk in the demo practice.

`load_history` (before the claims demo) writes a synthetic year of claims for the demo patients and posts the
payers' answers as real 835 files, monthly per payer, through the remittance app: that is the history the
model learns from. It is synthetic (see `synthetic.py`), kept under 80 claims, and biased toward the payer
patterns the demo claims meet, so that the reasons on the demo claims have something to say.

`load_demo` (after the remittance demo) bills two more visits and scrubs them (María Núñez's knee injection
with an office visit, modifier 25, at Acme; Samir Haddad's A1c for a screening diagnosis at Medicare), trains
the model and scores every claim not yet with a payer, so the claims list and the claim pages show scores.
Both are safe to run again.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from mederi.billing import claim_status
from mederi.billing.claims.submit import scrub_claim
from mederi.billing.claims.workflow import Row, bill_visit, visit_for
from mederi.billing.remittance.models import RemittanceFile
from mederi.billing.remittance.posting import post_remittance
from mederi.billing.x12.remittance import Adjustment, ClaimPayment, Remittance, ServiceLine
from mederi.billing.x12.remittance_writer import build_835
from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import MederiError, NotFound
from mederi.fhir.repository import Repository

from . import services, synthetic

CENT = Decimal("0.01")
HISTORY_SOURCE = "demo-history"
DEMO_PAYERS = {"payer-acme": ("demo-payer-acme", "ACME01", "ACME HEALTH PLAN"),
               "payer-medicare": ("demo-payer-medicare", "MCRB01", "MEDICARE PART B")}


def history_claim(claim: synthetic.SyntheticClaim, number: str, patient_id: str, coverage_id: str,
                  provider_id: str, practitioner_id: str) -> dict:
    """A sent Claim shaped as the claims module writes one, for a synthetic claim."""
    diagnoses = list(dict.fromkeys(d for line in claim.lines for d in line.diagnoses))
    items = []
    for sequence, line in enumerate(claim.lines, start=1):
        item = {"sequence": sequence, "diagnosisSequence": [diagnoses.index(d) + 1 for d in line.diagnoses][:4],
                "productOrService": {"coding": [{"system": systems.CPT, "code": line.code}]},
                "servicedDate": claim.day.isoformat(),
                "locationCodeableConcept": {"coding": [{"system": systems.PLACE_OF_SERVICE, "code": line.place}]},
                "quantity": {"value": 1}, "unitPrice": {"value": line.charge, "currency": "USD"},
                "net": {"value": line.charge, "currency": "USD"},
                "extension": [{"url": "urn:mederi:line-control-number",
                               "valueString": claim_status.line_control_number(number, sequence)}]}
        if line.modifiers:
            item["modifier"] = [{"coding": [{"system": systems.CPT_MODIFIER, "code": m}]} for m in line.modifiers]
        items.append(item)
    resource = {
        "resourceType": "Claim", "status": "active", "use": "claim", "created": f"{claim.day.isoformat()}T17:00:00Z",
        "identifier": [{"system": systems.CLAIM_NUMBER, "value": number}],
        "extension": [{"url": "urn:mederi:claim-frequency", "valueCode": "1"}],
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "patient": {"reference": f"Patient/{patient_id}"},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "provider": {"reference": f"Organization/{provider_id}"},
        "careTeam": [{"sequence": 1, "provider": {"reference": f"Practitioner/{practitioner_id}"}}],
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": f"Coverage/{coverage_id}"}}],
        "billablePeriod": {"start": claim.day.isoformat(), "end": claim.day.isoformat()},
        "diagnosis": [{"sequence": n, "diagnosisCodeableConcept": {"coding": [{"system": systems.ICD10CM, "code": d}]}}
                      for n, d in enumerate(diagnoses, start=1)],
        "item": items, "total": {"value": sum((line.charge for line in claim.lines), Decimal("0")), "currency": "USD"},
    }
    return claim_status.set_status(resource, claim_status.SUBMITTED)


def _answer(claim: synthetic.SyntheticClaim, number: str) -> ClaimPayment:
    lines = []
    for sequence, line in enumerate(claim.lines, start=1):
        if line.denied:
            paid, adjustments = Decimal("0.00"), [Adjustment("CO", line.carc or "A1", line.charge)]
        else:  # paid the allowed amount in full: nothing is left to the patient's account (and statements)
            paid = (line.charge * Decimal("0.8")).quantize(CENT)
            adjustments = [Adjustment("CO", "45", line.charge - paid)]
        lines.append(ServiceLine(procedure=line.code, charge=line.charge, paid=paid, modifiers=list(line.modifiers),
                                 control_number=claim_status.line_control_number(number, sequence),
                                 service_start=claim.day, service_end=claim.day, adjustments=adjustments))
    paid = sum((line.paid for line in lines), Decimal("0"))
    return ClaimPayment(number, "4" if not paid else "1", sum((line.charge for line in lines), Decimal("0")), paid,
                        lines=lines)


def record_history(context: Context, claims: list[synthetic.SyntheticClaim], *, patients: dict[str, list[tuple[str, str]]],
                   payers: dict[str, tuple[str, str, str]], provider_id: str, practitioner_id: str,
                   payee: tuple[str, str], prefix: str = "H", source: str = HISTORY_SOURCE) -> int:
    """Write the claims as sent Claims and post their answers as one 835 per payer and month of service.

    `patients`: synthetic payer -> [(patient id, coverage id)] to bill; `payers`: synthetic payer -> (Organization
    id, X12 payer id, name on the 835); `payee`: (name, NPI). Returns the number of claims written."""
    repository = Repository(context)
    files: dict[tuple[str, str], list[ClaimPayment]] = {}
    turn: dict[str, int] = {}
    for claim in claims:
        if claim.payer not in payers or not patients.get(claim.payer):
            continue
        number = f"{prefix}{claim.number[1:]}"
        choices = patients[claim.payer]
        patient_id, coverage_id = choices[turn.get(claim.payer, 0) % len(choices)]
        turn[claim.payer] = turn.get(claim.payer, 0) + 1
        repository.create(history_claim(claim, number, patient_id, coverage_id, provider_id, practitioner_id))
        files.setdefault((claim.payer, claim.day.strftime("%Y%m")), []).append(_answer(claim, number))
    for control, ((payer, month), answers) in enumerate(sorted(files.items()), start=1):
        _, x12_id, name = payers[payer]
        paid_on = dt.date(int(month[:4]), int(month[4:]), 28) + dt.timedelta(days=14)
        remittance = Remittance("0001", "I", Decimal("0"), "ACH", paid_on, f"{prefix}-{x12_id}-{month}", "1999999999",
                                payer_name=name, payer_id=x12_id, payee_name=payee[0], payee_id_qualifier="XX",
                                payee_id=payee[1], produced_on=paid_on, claims=answers)
        remittance.total = remittance.claims_paid
        post_remittance(context, build_835(remittance, control_number=control), name=f"{name.lower()} {month}.835",
                        source=source)
    return sum(len(answers) for answers in files.values())


def _demo_sample(today: dt.date) -> list[synthetic.SyntheticClaim]:
    """Under 80 synthetic claims of the last year for Acme and Medicare, most of them meeting a planted pattern."""
    payers = {p: synthetic.PAYERS[p] for p in DEMO_PAYERS}
    start = today.replace(year=today.year - 1)
    claims = synthetic.generate(start, today - dt.timedelta(days=30), claims_per_day=12, seed=11, payers=payers)
    rng = random.Random(11)
    acme_25 = [c for c in claims if c.payer == "payer-acme" and any("25" in line.modifiers for line in c.lines)]
    medicare_a1c = [c for c in claims if c.payer == "payer-medicare" and any(line.code == "83036" for line in c.lines)]
    chosen = acme_25[:25] + medicare_a1c[:20]
    chosen += rng.sample([c for c in claims if c not in chosen], 30)
    return sorted(chosen, key=lambda c: c.day)


def load_history(today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    if RemittanceFile.objects.filter(source=HISTORY_SOURCE).exists():
        return "denial-risk history: already in place"
    context = Context.system("demo")
    try:
        Repository(context).read("Organization", "demo-practice")
    except NotFound:
        return "denial-risk history skipped: load the demo practice first"
    patients = {"payer-acme": [("demo-pat-1", "demo-pat-1-coverage"), ("demo-pat-2", "demo-pat-2-coverage"),
                               ("demo-pat-4", "demo-pat-4-coverage")],
                "payer-medicare": [("demo-pat-3", "demo-pat-3-coverage"), ("demo-pat-5", "demo-pat-5-coverage")]}
    written = record_history(context, _demo_sample(today), patients=patients, payers=DEMO_PAYERS,
                             provider_id="demo-practice", practitioner_id="demo-dr-ruiz",
                             payee=("RIVERSIDE FAMILY MEDICINE", "1612345672"))
    return f"denial-risk history: {written} synthetic claims of the last year sent and answered by 835"


def _bill(context: Context, repository: Repository, patient_id: str, day: dt.date, diagnoses: list[str],
          rows: list[Row]) -> str:
    visit_id = visit_for(context, patient_id, day, "demo-dr-okafor")
    if repository.search("ChargeItem", [("context", f"Encounter/{visit_id}"), ("_count", "1")]).matches:
        return ""
    claim_id = bill_visit(context, visit_id, diagnoses, rows)
    scrub_claim(context, claim_id)
    return claim_id


def load_demo(today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    context = Context.system("demo")
    repository = Repository(context)
    done = []
    try:
        if _bill(context, repository, "demo-pat-2", today - dt.timedelta(days=2), ["M17.12"],
                 [Row("20610", ["LT"], pointers=["1"]), Row("99213", ["25"], pointers=["1"])]):
            done.append("María Núñez's knee injection and visit billed and scrubbed")
        if _bill(context, repository, "demo-pat-5", today - dt.timedelta(days=2), ["Z13.1", "E78.5"],
                 [Row("99214", pointers=["2"]), Row("83036", pointers=["1"]), Row("36415", pointers=["1"])]):
            done.append("Samir Haddad's visit with an A1c for screening billed and scrubbed")
        model = services.train_model(context, today=today)
        done.append(f"model version {model.version} learned from {model.claims} claims")
    except MederiError as error:
        done.append(f"not trained: {'; '.join(i.diagnostics for i in error.issues)}")
    done.append(f"{services.score_open_claims(context)} open claims scored")
    return "denial-risk demo: " + "; ".join(done) + " (see /billing/claims/)"
