"""The demo charts load, load again without changes, and show on the chart page."""

from datetime import date

import pytest
from django.test import Client

from mederi.clinical.entries import demo
from mederi.conftest import staff_user
from mederi.core.context import Context
from mederi.demo import demo_resources
from mederi.fhir.bundles import BundleProcessor
from mederi.fhir.repository import Repository

pytestmark = pytest.mark.django_db


def test_the_demo_charts_have_trends_problems_and_immunizations_and_reload_as_a_no_op():
    resources = [r for r in demo_resources() if r["resourceType"] in ("Patient", "Organization", "Practitioner")]
    BundleProcessor(Repository(Context.system("test"))).process({
        "resourceType": "Bundle", "type": "transaction",
        "entry": [{"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
                  for r in resources]})
    first = demo.load_demo(date(2026, 11, 2))
    assert first.startswith("charts: 210 new")
    assert demo.load_demo(date(2026, 11, 2)).startswith("charts: 0 new")
    doctor = Client()
    doctor.force_login(staff_user("doc", "physician"))
    page = doctor.get("/clinical/patients/demo-pat-3/").content.decode()
    assert "Type 2 diabetes mellitus without complications" in page
    assert 'id="trend-bp"' in page and 'id="trend-weight"' in page
    assert "Pneumococcal conjugate PCV20" in page and "Never smoker" in page
    assert "metformin 500 MG Oral Tablet" in page
