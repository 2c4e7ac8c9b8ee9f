"""The interfaces' part of the demo: a lab connection to the built-in stand-in lab (not a real lab;
its results are made up) and one resulted order, a lipid panel for Peter Chalmers ordered by
Dr Ruiz, waiting in her results inbox. Safe to run again."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from mederi.accounts.context import context_for_user
from mederi.interop import orders
from mederi.interop.models import LabConnection, OutboundOrder

PATIENT_ID = "demo-pat-1"


def load_demo(today=None) -> str:
    lab, created = LabConnection.objects.get_or_create(name="Stand-in lab (demo)", defaults={
        "transport": LabConnection.STANDIN, "sending_application": "MEDERI", "sending_facility": "RIVERSIDE",
        "receiving_application": "STANDIN", "receiving_facility": "STANDIN-LAB"})
    if OutboundOrder.objects.filter(patient_id=PATIENT_ID).exists():
        return "lab demo: already in place"
    doctor = get_user_model().objects.filter(username="drruiz").first()
    if doctor is None:
        return "lab demo skipped: load the demo practice first"
    order = orders.place_lab_order(context_for_user(doctor), PATIENT_ID, ["24331-1"], lab.pk,
                                   note="Fasting since midnight")
    orders.deliver(order.pk)  # at once, without waiting for a worker: the stand-in answers in-process
    return f"lab demo: {lab.name}{' (new)' if created else ''}; a lipid panel for {PATIENT_ID}, resulted"
