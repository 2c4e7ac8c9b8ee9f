"""The patient's questionnaire page: opened from the link without signing in, answered, refused
when the link cannot be used, and never showing more than the first name and the visit's time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mederi.audit.models import AuditEntry
from mederi.fhir.models import Resource
from mederi.fhir.questionnaires import clean_text
from mederi.portal import services
from mederi.portal.models import QuestionnaireInvite
from mederi.portal.records import APPOINTMENT_EXTENSION
from mederi.portal.tests.conftest import (
    VISIT_DAY_END,
    context_of,
    make_appointment,
    response_count,
    system_repo,
)

GOOD = {"reason": "Cough for two weeks", "symptoms-start": "2026-02-16", "pain": "3", "new-medications": "true",
        "new-medications-which": "Cough syrup, 10 ml at night", "allergies-changed": "false", "smoking": "2",
        "anything-else": ""}


@pytest.fixture
def link(practice, frontdesk) -> str:
    _, path = services.invite_to_questionnaire(context_of(frontdesk), "pat-1", "appt-1")
    return path


def stored_response() -> dict:
    return system_repo().read("QuestionnaireResponse", QuestionnaireInvite.objects.get().response_id).as_dict()


def test_the_page_shows_the_questions_as_a_form_with_labels(link):
    page = Client().get(link)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Hello Maria." in html and "on Fri 6 Mar 2026 at 9:00 AM" in html
    assert '<label for="q-1">What is the main reason for your visit?' in html
    assert '<textarea name="reason" id="q-1" rows="4" maxlength="2000" required aria-required="true"' in html
    assert 'name="symptoms-start" id="q-2"' in html and 'type="date"' in html
    assert 'name="pain" id="q-3"' in html and 'inputmode="numeric"' in html and "From 0 to 10." in html
    assert '<input type="radio" name="new-medications" value="true" id="q-4-true"> Yes' in html
    assert '<input type="radio" name="smoking" value="3" id="q-7-3"> Smoke now' in html
    assert 'data-enable-when="{&quot;behavior&quot;:&quot;all&quot;' in html  # for the page's script
    assert "portal/questionnaire.js" in html and "<script>" not in html  # no inline script (CSP)
    assert page["Cache-Control"] == "no-store"


def test_the_page_tells_nothing_about_the_patient_but_first_name_and_visit_time(link):
    html = Client().get(link).content.decode()
    for secret in ("Lopez", "Elena", "1980", "+1555", "Ruiz", "pat-1", "appt-1"):
        assert secret not in html


def test_sending_answers_stores_a_completed_questionnaire_response(link):
    page = Client().post(link, GOOD)
    assert page.status_code == 200
    assert "Thank you, Maria" in page.content.decode()
    invite = QuestionnaireInvite.objects.get()
    assert invite.completed_at is not None and invite.response_id
    response = stored_response()
    assert response["status"] == "completed"
    assert response["questionnaire"] == "urn:mederi:questionnaire:previsit|1"
    assert response["subject"] == response["source"] == {"reference": "Patient/pat-1"}
    assert response["authored"] == "2026-03-02T14:00:00.000Z"
    assert response["extension"] == [{"url": APPOINTMENT_EXTENSION, "valueReference": {"reference": "Appointment/appt-1"}}]
    assert "basedOn" not in response
    answers = {item["linkId"]: item["answer"] for item in response["item"]}
    assert answers == {
        "reason": [{"valueString": "Cough for two weeks"}],
        "symptoms-start": [{"valueDate": "2026-02-16"}],
        "pain": [{"valueInteger": 3}],
        "new-medications": [{"valueBoolean": True}],
        "new-medications-which": [{"valueString": "Cough syrup, 10 ml at night"}],
        "allergies-changed": [{"valueBoolean": False}],
        "smoking": [{"valueCoding": {"system": "http://snomed.info/sct", "code": "8517006",
                                     "display": "Used to smoke"}}],
    }


def test_missing_required_answers_are_shown_at_the_field_with_the_input_kept_and_nothing_stored(link):
    before = Resource.objects.count()
    page = Client().post(link, {**GOOD, "reason": "  ", "pain": "12", "anything-else": "I <3 my dog"})
    assert page.status_code == 400
    html = page.content.decode()
    assert '<p class="q-error" role="alert" id="q-1-error">Please answer this question.</p>' in html
    assert '<p class="q-error" role="alert" id="q-3-error">Enter a value from 0 to 10.</p>' in html
    assert 'aria-describedby="q-3-range q-3-error"' in html
    assert 'value="12"' in html and "I &lt;3 my dog</textarea>" in html  # what was typed, escaped
    assert 'value="2" id="q-7-2" checked' in html
    assert '<a href="#q-1">What is the main reason for your visit?</a>: Please answer this question.' in html
    assert response_count() == 0 and Resource.objects.count() == before
    assert QuestionnaireInvite.objects.get().completed_at is None


def test_a_follow_up_question_is_needed_only_after_yes(link):
    page = Client().post(link, {**GOOD, "new-medications-which": ""})
    assert page.status_code == 400
    assert 'id="q-5-error">Please answer this question.' in page.content.decode()
    page = Client().post(link, {**GOOD, "new-medications": "false", "new-medications-which": "typed before"})
    assert page.status_code == 200
    assert "new-medications-which" not in {item["linkId"] for item in stored_response()["item"]}


def test_a_link_that_was_used_is_refused_and_nothing_more_is_stored(link):
    assert Client().post(link, GOOD).status_code == 200
    again = Client().post(link, GOOD)
    assert again.status_code == 410
    assert "already been answered" in again.content.decode()
    assert Client().get(link).status_code == 410
    assert response_count() == 1


def test_unknown_expired_and_withdrawn_links_say_to_ask_the_front_desk(link, frozen):
    unknown = Client().get("/p/q/not-a-real-token")
    assert unknown.status_code == 404
    assert "ask the front desk for a new link" in unknown.content.decode()

    frozen.moment = VISIT_DAY_END
    expired = Client().post(link, GOOD)
    assert expired.status_code == 410
    assert "has expired" in expired.content.decode() and "Ask the front desk for a new link." in expired.content.decode()

    frozen.moment = VISIT_DAY_END - timedelta(days=1)
    make_appointment("appt-1", status="cancelled")
    withdrawn = Client().get(link)
    assert withdrawn.status_code == 410 and "Maria" not in withdrawn.content.decode()
    assert response_count() == 0


def test_a_reissued_link_replaces_the_one_the_patient_had_open(link, frontdesk):
    services.invite_to_questionnaire(context_of(frontdesk), "pat-1", "appt-1")
    assert Client().post(link, GOOD).status_code == 404
    assert response_count() == 0


def test_opening_and_answering_are_in_the_audit_log_as_the_patient_via_the_link(link):
    Client().get(link, REMOTE_ADDR="203.0.113.9")
    Client().post(link, GOOD, REMOTE_ADDR="203.0.113.9")
    entries = AuditEntry.objects.filter(actor_name=services.PATIENT_ACTOR).order_by("id")
    summary = [(e.action, e.patient_id, e.query, e.remote_addr, e.actor_role) for e in entries]
    assert summary[0] == ("read", "pat-1", "questionnaire link opened", "203.0.113.9", "patient")
    created = [e for e in entries if e.action == "create"]
    assert len(created) == 1 and created[0].resource_ids.startswith("QuestionnaireResponse/")
    assert created[0].patient_id == "pat-1" and created[0].purpose == "patient-questionnaire"


typed = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=120)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reason=typed, pain=typed, which=typed)
def test_whatever_is_typed_is_stored_cleanly_or_refused_with_nothing_stored(practice, frontdesk, reason, pain, which):
    QuestionnaireInvite.objects.all().delete()
    Resource.objects.filter(resource_type="QuestionnaireResponse").delete()
    _, path = services.invite_to_questionnaire(context_of(frontdesk), "pat-1", "appt-1")
    page = Client().post(path, {**GOOD, "reason": reason, "pain": pain, "new-medications-which": which})
    assert page.status_code in (200, 400)
    if page.status_code == 400:
        assert 'role="alert"' in page.content.decode()
        assert response_count() == 0
        return
    answers = {item["linkId"]: item["answer"] for item in stored_response()["item"]}
    # Kept as typed, less invisible control characters and outer spaces.
    assert answers["reason"] == [{"valueString": clean_text(reason, one_line=False)}]
    assert answers["new-medications-which"] == [{"valueString": clean_text(which, one_line=False)}]
    if "pain" in answers:
        assert answers["pain"] == [{"valueInteger": int(clean_text(pain, one_line=True).replace(",", ""))}]
        assert 0 <= answers["pain"][0]["valueInteger"] <= 10
    else:
        assert not clean_text(pain, one_line=True)
