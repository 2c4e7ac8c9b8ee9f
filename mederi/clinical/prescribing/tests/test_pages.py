"""The prescribing pages as a signed-in physician (and others) use them."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from mederi.clinical.prescribing.tests.factories import make_chart
from mederi.conftest import record_row_counts, staff_user
from mederi.fhir.models import Resource

pytestmark = pytest.mark.django_db
URL = "/clinical/patients/grace/prescribe/"


@pytest.fixture
def chart(settings):
    settings.MEDERI_ERX_URL = "http://127.0.0.1:9/script"
    return make_chart()


@pytest.fixture
def doctor(chart):
    client = Client()
    client.force_login(chart["doctor"])
    return client


def form(chart, **changes):
    values = {"rxcui": "197806", "dose": "1", "dose_unit": "tablet", "route": "26643006", "frequency": "tid",
              "days": "10", "quantity": "30", "quantity_unit": "tablet", "refills": "0",
              "substitution_allowed": "on", "pharmacy_id": chart["pharmacy"].id, "encounter": "visit-1",
              "action": "sign"}
    values.update(changes)
    return values


def test_the_page_searches_the_catalogue_and_checks_the_chosen_drug(doctor):
    page = doctor.get(URL + "?encounter=visit-1")
    assert page.status_code == 200 and "Prescribe for Grace Okonkwo" in page.content.decode()
    choices = doctor.get(URL + "drugs?q=ibupro").content.decode()
    assert 'value="197806"' in choices and "ibuprofen 600 MG Oral Tablet" in choices
    cards = doctor.post(URL + "check", {"rxcui": "197806", "encounter": "visit-1"}).content.decode()
    assert "Major interaction: ibuprofen with warfarin" in cards
    assert "Benefit outweighs the risk for this patient" in cards


def test_signing_is_blocked_by_a_warning_until_a_reason_is_given(chart, doctor):
    blocked = doctor.post(URL, form(chart))
    assert blocked.status_code == 409
    text = blocked.content.decode()
    assert "Not signed yet" in text and "Major interaction: ibuprofen with warfarin" in text
    card = blocked.context["cards"][0]
    draft_id = blocked.context["form"]["draft_id"].value()
    signed = doctor.post(URL, form(chart, draft_id=draft_id, **{
        f"override:drug-order-sign:{card['uuid']}": "will-monitor", f"comment:{card['uuid']}": "INR next week"}))
    assert signed.status_code == 302
    assert signed["Location"] == f"/clinical/prescriptions/{draft_id}/"
    page = doctor.get(signed["Location"]).content.decode()
    assert 'id="rx-status">active' in page
    pdf = doctor.get(f"/clinical/prescriptions/{draft_id}/pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_removing_the_drug_from_an_alert_clears_the_choice(chart, doctor):
    blocked = doctor.post(URL, form(chart, rxcui="308182"))  # amoxicillin, penicillin allergy
    card = blocked.context["cards"][0]
    assert card["indicator"] == "critical"
    after = doctor.post(URL, form(chart, rxcui="308182", remove=f"drug-order-sign:{card['uuid']}",
                                  draft_id=blocked.context["form"]["draft_id"].value()))
    assert after.status_code == 200
    assert "The drug was removed" in after.content.decode()
    assert not after.context["form"]["rxcui"].value()


@pytest.mark.parametrize(("changes", "message"), [
    ({"rxcui": ""}, "Choose the drug from the search results."),
    ({"dose": "0"}, "The dose must be more than zero."),
    ({"refills": "12"}, "less than or equal to 11"),
    ({"rxcui": "1049221", "refills": "2"}, "Schedule II: no refills"),
    ({"quantity": "lots"}, "Enter a number."),
])
def test_bad_input_is_refused_at_the_field_and_nothing_is_stored(chart, doctor, changes, message):
    before = record_row_counts()
    response = doctor.post(URL, form(chart, **changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert record_row_counts() == before


def test_a_nurse_cannot_open_the_prescribing_page(chart):
    client = Client()
    client.force_login(staff_user("nina", "nurse"))
    assert client.get(URL).status_code == 403
    nurse_chart = client.get("/clinical/patients/grace/")
    assert nurse_chart.status_code == 200 and "Prescribe</a>" not in nurse_chart.content.decode()


def test_the_chart_offers_prescribing_to_a_prescriber_within_the_visit(doctor):
    chart = doctor.get("/clinical/patients/grace/?encounter=visit-1").content.decode()
    assert f'href="{URL}?encounter=visit-1">Prescribe</a>' in chart


def test_the_pharmacy_directory_checks_the_ncpdp_id(chart):
    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    organizations = Resource.objects.filter(resource_type="Organization").count()
    refused = client.post("/clinical/pharmacies/", {"name": "Corner Drugs", "ncpdp": "12345"})
    assert refused.status_code == 400 and "is not an NCPDP id" in refused.content.decode()
    duplicate = client.post("/clinical/pharmacies/", {"name": "Copycat", "ncpdp": "1234567"})
    assert "already has NCPDP id 1234567" in duplicate.content.decode()
    assert Resource.objects.filter(resource_type="Organization").count() == organizations
    added = client.post("/clinical/pharmacies/", {"name": "Corner Drugs", "ncpdp": "1112223", "state": "IL"})
    assert added.status_code == 302
    assert "Corner Drugs" in client.get("/clinical/pharmacies/").content.decode()
