"""The preventive-care badge on the appointment page, fetched with htmx after the page is drawn so
the calendar and the appointment page cost nothing extra."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from mederi.accounts.context import context_for_request, permissions_for_request
from mederi.clinical.preventive import cards
from mederi.core.errors import MederiError


@login_required
def care_gap_badge(request, patient_id: str):
    """'3 due' with the reminders in its tooltip; nothing for someone who may not read the chart."""
    if "clinical.read" not in permissions_for_request(request):
        return HttpResponse("")
    try:
        gaps = cards.care_gaps(context_for_request(request), patient_id)
    except MederiError:
        return HttpResponse("")
    return render(request, "clinical/preventive/_badge.html", {"gaps": gaps, "patient_id": patient_id})
