"""The chart page: thin, the chart selector reads (and audits), the entry partials do the changing."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from mederi.accounts.context import context_for_request, permissions_for_request
from mederi.accounts.decorators import forbidden_page, staff_page
from mederi.clinical import chart as charts
from mederi.clinical.entries.views import ADD_LABELS
from mederi.core.errors import Forbidden, Gone, NotFound


@staff_page("clinical.read")
def patient_chart(request, patient_id: str):
    """Problems, medications, allergies, immunizations, vitals and results with trends, care gaps,
    visits and insurance; each list has its add form (the `clinical:entries` partials)."""
    try:
        chart = charts.patient_chart(context_for_request(request), patient_id)
    except (NotFound, Gone) as error:
        raise Http404(str(error)) from error
    except Forbidden as error:
        return forbidden_page(request, error)
    can_write = "clinical.write" in permissions_for_request(request)
    encounter_id = request.GET.get("encounter", "")

    def section(kind: str, rows, **extra) -> dict:
        # Compact: the lists only, each with a link that fetches its form (forms cost more to draw than the lists).
        return {"patient_id": patient_id, "kind": kind, "rows": rows, "can_write": can_write, "compact": True,
                "add_label": ADD_LABELS[kind], "encounter_id": encounter_id, "saved": "", **extra}

    return render(request, "clinical/chart.html", {
        "chart": chart, "encounter_id": encounter_id,
        "problems": section("problems", chart.problems, title="Problems"),
        "allergies": section("allergies", chart.allergies, title="Allergies"),
        "medications": section("medications", chart.medications, title="Medications",
                               last_reconciled=chart.last_reconciled),
        "immunizations": section("immunizations", chart.immunizations, title="Immunizations"),
        "vitals": section("vitals", chart.vitals, title="Vital signs"),
        "smoking": section("smoking", chart.smoking, title="Smoking status"),
        "family": section("family-history", chart.family, title="Family history"),
    })
