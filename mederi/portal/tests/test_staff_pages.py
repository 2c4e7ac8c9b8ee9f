"""The staff side: the questionnaire-link panel of the check-in page, giving the link, and reading
a patient's answers."""

from __future__ import annotations

import pytest
from django.test import Client

from mederi.audit.models import AuditEntry
from mederi.conftest import staff_user
from mederi.portal import services
from mederi.portal.models import QuestionnaireInvite
from mederi.portal.tests.conftest import context_of, make_appointment
from mederi.portal.tests.test_public_page import GOOD

PANEL = "/p/invites/appointment/appt-1"
GIVE = "/p/invites/appointment/appt-1/give"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def answered_by_patient(frontdesk) -> str:
    _, path = services.invite_to_questionnaire(context_of(frontdesk), "pat-1", "appt-1")
    assert Client().post(path, GOOD).status_code == 200
    return QuestionnaireInvite.objects.get().response_id


def test_the_panel_offers_to_give_a_link_when_none_was_given(practice, frontdesk):
    page = signed_in(frontdesk).get(PANEL, headers={"HX-Request": "true"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "No questionnaire link has been given for this appointment." in html
    assert f'hx-post="{GIVE}"' in html and "Give questionnaire link</button>" in html
    assert "<html" not in html  # a partial for the check-in page
    entry = AuditEntry.objects.filter(query="ui: questionnaire link of Appointment/appt-1").get()
    assert (entry.action, entry.actor_name, entry.patient_id) == ("read", "frontdesk", "pat-1")


def test_giving_the_link_shows_it_once_with_a_qr_code(practice, frontdesk):
    client = signed_in(frontdesk)
    page = client.post(GIVE, headers={"HX-Request": "true"})
    assert page.status_code == 200
    html = page.content.decode()
    assert '<code class="portal-url">http://testserver/p/q/' in html
    assert 'src="data:image/svg+xml;base64,' in html and 'alt="QR code of the questionnaire link"' in html
    assert "It works until the end of Fri 6 Mar 2026." in html
    link = html.split('<code class="portal-url">http://testserver', 1)[1].split("<", 1)[0]
    assert Client().get(link).status_code == 200  # the link works for the patient

    later = client.get(PANEL, headers={"HX-Request": "true"}).content.decode()
    assert "Link given Mon 2 Mar 2026 08:00 by frontdesk. Not answered yet." in later
    assert "/p/q/" not in later and "Give a new questionnaire link</button>" in later


def test_without_htmx_the_panel_and_the_given_link_are_pages_of_their_own(practice, frontdesk):
    client = signed_in(frontdesk)
    assert "<html" in client.get(PANEL).content.decode()
    page = client.post(GIVE)
    assert page.status_code == 200 and "<html" in page.content.decode() and "/p/q/" in page.content.decode()


def test_the_panel_shows_an_answered_questionnaire_with_a_link_to_the_answers(practice, frontdesk, nurse):
    response_id = answered_by_patient(frontdesk)
    for_nurse = signed_in(nurse).get(PANEL).content.decode()
    assert "Answered Mon 2 Mar 2026 08:00." in for_nurse
    assert f'<a href="/p/responses/{response_id}">View the answers</a>' in for_nurse
    for_front_desk = signed_in(frontdesk).get(PANEL).content.decode()
    assert "Clinical staff can read the answers." in for_front_desk and "/p/responses/" not in for_front_desk


def test_the_panel_needs_scheduling_read_and_giving_needs_scheduling_write(practice, auditor):
    assert signed_in(auditor).get(PANEL).status_code == 403
    viewer = staff_user("viewer", permissions=["scheduling.read", "demographics.read"])
    client = signed_in(viewer)
    assert "Give questionnaire link" not in client.get(PANEL).content.decode()
    assert client.post(GIVE).status_code == 403
    assert Client().get(PANEL).status_code == 302  # to the sign-in page
    assert not QuestionnaireInvite.objects.exists()


def test_no_link_is_given_for_a_cancelled_visit_and_the_reason_is_shown(practice, frontdesk):
    make_appointment("appt-1", status="cancelled")
    client = signed_in(frontdesk)
    assert "No link can be given: the appointment is cancelled." in client.get(PANEL).content.decode()
    page = client.post(GIVE)
    assert page.status_code == 400
    assert '<p class="portal-error" role="alert">The appointment is cancelled' in page.content.decode()
    assert not QuestionnaireInvite.objects.exists()


def test_an_unknown_appointment_is_reported_in_the_panel(practice, frontdesk):
    page = signed_in(frontdesk).get("/p/invites/appointment/nope", headers={"HX-Request": "true"})
    assert page.status_code == 404 and "Appointment/nope does not exist" in page.content.decode()


def test_clinical_staff_read_the_answers_and_the_reading_is_audited(practice, frontdesk, nurse):
    response_id = answered_by_patient(frontdesk)
    page = signed_in(nurse).get(f"/p/responses/{response_id}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1 id=\"response-title\">Before your visit</h1>" in html
    assert "Maria Elena Lopez" in html and "Fri 6 Mar 2026 09:00" in html and "by the patient" in html
    for question, answer in [("What is the main reason for your visit?", "Cough for two weeks"),
                             ("When did your symptoms start?", "16 Feb 2026"),
                             ("Have you started any new medicines since your last visit?", "Yes"),
                             ("Have your allergies changed since your last visit?", "No"),
                             ("Do you smoke tobacco?", "Used to smoke")]:
        assert f'<p class="portal-question">{question}</p>\n      <p class="portal-reply">{answer}</p>' in html
    entry = AuditEntry.objects.filter(query="ui: questionnaire answers").get()
    assert (entry.action, entry.actor_name, entry.patient_id) == ("read", "nurse", "pat-1")
    assert f"QuestionnaireResponse/{response_id}" in entry.resource_ids.split()


@pytest.mark.parametrize("who", ["frontdesk", "auditor"])
def test_the_answers_need_clinical_read(practice, frontdesk, auditor, who):
    response_id = answered_by_patient(frontdesk)
    user = {"frontdesk": frontdesk, "auditor": auditor}[who]
    assert signed_in(user).get(f"/p/responses/{response_id}").status_code == 403


def test_an_unknown_response_is_a_404_page(practice, nurse):
    page = signed_in(nurse).get("/p/responses/nope")
    assert page.status_code == 404 and "QuestionnaireResponse/nope does not exist" in page.content.decode()
