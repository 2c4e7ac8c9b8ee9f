"""Claims in the demo practice: fee schedules, Grace Okonkwo's signed visit billed and sent, and a
claim for Peter Chalmers with a scrubber finding to fix (an office visit on the day of a knee
injection without modifier 25). Safe to run again: a visit that has charges is not billed twice."""

from __future__ import annotations

import datetime as dt

from mederi.billing.claims import fees
from mederi.billing.claims.submit import scrub_claim, submit_claims
from mederi.billing.claims.tables import FeeScheduleEntry
from mederi.billing.claims.workflow import Row, bill_visit, visit_for
from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import MederiError, NotFound
from mederi.fhir.repository import Repository

DEFAULT_PRICES = {"99202": "95.00", "99203": "140.00", "99212": "75.00", "99213": "120.00", "99214": "170.00",
                  "99215": "230.00", "99396": "190.00", "20610": "210.00", "36415": "12.00", "83036": "38.00",
                  "90471": "28.00", "90686": "32.00", "93000": "55.00", "J1030": "18.00"}
MEDICARE_PRICES = {"99213": "92.00", "99214": "131.00", "83036": "13.32", "36415": "3.00"}
PRACTICE_TAX_ID = "371234567"


def _practice_ready(repository: Repository) -> None:
    """The demo practice with the tax id and ZIP+4 a claim needs."""
    practice = repository.read("Organization", "demo-practice").as_dict()
    changed = False
    if not any(i.get("system") == systems.TAX_ID for i in practice.get("identifier") or ()):
        practice.setdefault("identifier", []).append({"system": systems.TAX_ID, "value": PRACTICE_TAX_ID})
        changed = True
    for address in practice.get("address") or ():
        if len(address.get("postalCode", "")) == 5:
            address["postalCode"] += "1204"
            changed = True
    if changed:
        practice.pop("meta", None)
        repository.update("Organization", "demo-practice", practice)


def _billed(repository: Repository, encounter_id: str) -> bool:
    return bool(repository.search("ChargeItem", [("context", f"Encounter/{encounter_id}"), ("_count", "1")]).matches)


def load_demo(today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    context = Context.system("demo")
    repository = Repository(context)
    try:
        _practice_ready(repository)
    except NotFound:
        return "claims demo skipped: load the demo practice first"
    if not FeeScheduleEntry.objects.exists():
        for code, price in DEFAULT_PRICES.items():
            fees.set_price(context, fees.default_schedule(), code, "", price)
        medicare = fees.schedule_for_payer(context, "demo-payer-medicare", "Medicare Part B fee schedule")
        for code, price in MEDICARE_PRICES.items():
            fees.set_price(context, medicare, code, "", price)
    done = []
    signed = [s.as_dict() for s in repository.search("Encounter", [("subject", "Patient/demo-pat-3"),
                                                                  ("status", "finished")]).matches]
    if signed and not _billed(repository, signed[0]["id"]):
        try:
            claim_id = bill_visit(context, signed[0]["id"], ["E11.9", "I10"],
                                  [Row("99214", pointers=["1", "2"]), Row("83036", pointers=["1"]),
                                   Row("36415", pointers=["1"])])
            scrub_claim(context, claim_id)
            submit_claims(context, [claim_id])
            done.append(f"Grace Okonkwo's signed visit billed and sent (Claim/{claim_id})")
        except MederiError as error:
            done.append(f"Grace Okonkwo's visit not billed: {error}")
    visit_id = visit_for(context, "demo-pat-1", today - dt.timedelta(days=3), "demo-dr-ruiz")
    if not _billed(repository, visit_id):
        claim_id = bill_visit(context, visit_id, ["M17.11", "I10"],
                              [Row("20610", ["RT"], pointers=["1"]), Row("99213", pointers=["2"])])
        done.append(f"Peter Chalmers' knee injection claim waits for modifier 25 (Claim/{claim_id})")
    return "claims demo: " + ("; ".join(done) if done else "already in place") + "; fee schedules at /billing/fees/"
