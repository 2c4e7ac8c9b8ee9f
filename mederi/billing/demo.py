"""Billing's part of the demo practice: payer ids, clearinghouse routing and the practice's NPI.

Both demo payers are reached through the built-in stand-in payer (transport "standin"), which
answers from `standin_payer.demo_plans`: the demo patients' member ids SUB77000 to SUB77005, one
of them with an ended plan and one unknown to the payer. Safe to run again: what is already in
place is left alone.
"""

from __future__ import annotations

import datetime as dt

from mederi.billing import selectors, services
from mederi.billing.models import PayerConnection
from mederi.core.context import Context
from mederi.core.errors import NotFound

PRACTICE_ID = "demo-practice"
PRACTICE_NPI = "1612345672"
SENDER_ID = "RIVERSIDEFM"
DEMO_PAYERS = {  # Organization id -> (X12 payer id, ISA receiver id)
    "demo-payer-acme": ("ACME01", "ACMEHEALTH"),
    "demo-payer-medicare": ("MCRB01", "MEDICAREB"),
}


def load_demo(today: dt.date | None = None) -> str:
    """Set up eligibility checks for the demo practice; returns a line saying what changed."""
    context = Context.system("demo")
    changed = []
    try:
        if services.ensure_provider_npi(context, PRACTICE_ID, PRACTICE_NPI):
            changed.append(f"NPI {PRACTICE_NPI} for Organization/{PRACTICE_ID}")
    except NotFound:
        return "billing demo skipped: load the demo practice first"
    for organization_id, (payer_id, receiver_id) in DEMO_PAYERS.items():
        try:
            details, connection = selectors.payer(context, organization_id)
        except NotFound:
            continue
        if connection is not None and details.payer_id:
            continue
        details.payer_id = details.payer_id or payer_id
        routing = {
            "transport": PayerConnection.STANDIN, "sender_id": SENDER_ID, "receiver_id": receiver_id,
            "submitter_name": "Riverside Family Medicine", "usage": PayerConnection.TEST, "timeout_seconds": 30,
            "active": True,
        }
        if connection is not None:  # keep whatever routing someone set up; only the payer id was missing
            routing = {name: getattr(connection, name) for name in services.ROUTING_FIELDS if name != "password"}
        services.save_payer(context, details, routing, organization_id=organization_id)
        changed.append(f"payer {details.name} ({details.payer_id}) via the stand-in payer")
    return "billing demo: " + ("; ".join(changed) if changed else "already in place")
