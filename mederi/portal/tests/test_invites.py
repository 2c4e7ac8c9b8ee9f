"""Giving a pre-visit questionnaire link: who may, for which appointment, how long it works, and
what giving it again does to the old link."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mederi.audit.models import AuditEntry
from mederi.core.errors import Forbidden, InvalidRequest, NotFound
from mederi.portal import services
from mederi.portal.demo import PREVISIT_QUESTIONNAIRE
from mederi.portal.errors import QuestionnaireLinkError
from mederi.portal.models import QuestionnaireInvite
from mederi.portal.selectors import find_invite
from mederi.portal.tests.conftest import (
    NOW,
    VISIT_DAY_END,
    context_of,
    make_appointment,
    make_patient,
    system_repo,
    token_of,
)


def test_a_link_is_given_for_the_practices_active_pre_visit_questionnaire(practice, frontdesk):
    invite, path = services.invite_to_questionnaire(context_of(frontdesk), "pat-1", "appt-1")
    assert path.startswith("/p/q/") and len(token_of(path)) >= 40
    assert (invite.patient_id, invite.appointment_id, invite.questionnaire_id) == ("pat-1", "appt-1", "demo-previsit")
    assert (invite.created, invite.created_by, invite.issued_by) == (NOW, "frontdesk", "frontdesk")
    assert invite.completed_at is None and invite.response_id == ""
    # Only the token's digest is kept: nothing stored contains the token itself.
    stored = QuestionnaireInvite.objects.get()
    assert stored.token_hash == services.hash_token(token_of(path)) != token_of(path)
    assert token_of(path) not in str(QuestionnaireInvite.objects.values().get())
    assert find_invite(token_of(path)).pk == invite.pk


def test_a_link_expires_at_the_end_of_the_visit_day_at_the_latest(practice, frontdesk):
    invite, _ = services.invite_to_questionnaire(context_of(frontdesk), "pat-1", "appt-1")
    assert invite.expires == VISIT_DAY_END  # Friday midnight in Chicago, sooner than 7 days


def test_a_link_for_a_visit_weeks_away_works_for_seven_days(practice, frontdesk):
    make_appointment("appt-later", start=datetime(2026, 4, 20, 15, 0, tzinfo=timezone.utc))
    invite, _ = services.invite_to_questionnaire(context_of(frontdesk), "pat-1", "appt-later")
    assert invite.expires == NOW + timedelta(days=7)


def test_an_expired_link_stops_working(practice, frontdesk, frozen):
    _, path = services.invite_to_questionnaire(context_of(frontdesk), "pat-1", "appt-1")
    frozen.moment = VISIT_DAY_END - timedelta(seconds=1)
    assert find_invite(token_of(path))
    frozen.moment = VISIT_DAY_END
    with pytest.raises(QuestionnaireLinkError) as caught:
        find_invite(token_of(path))
    assert caught.value.status == 410 and "expired" in caught.value.title


def test_giving_the_link_again_reissues_it_and_the_old_link_stops_working(practice, frontdesk, nurse, frozen):
    first, old_path = services.invite_to_questionnaire(context_of(frontdesk), "pat-1", "appt-1")
    frozen.advance(hours=1)
    again, new_path = services.invite_to_questionnaire(context_of(nurse), "pat-1", "appt-1")
    assert again.pk == first.pk and QuestionnaireInvite.objects.count() == 1
    assert new_path != old_path
    assert (again.times_issued, again.issued, again.issued_by, again.created_by) == (
        2, NOW + timedelta(hours=1), "nurse", "frontdesk")
    with pytest.raises(QuestionnaireLinkError) as caught:
        find_invite(token_of(old_path))
    assert caught.value.status == 404
    assert find_invite(token_of(new_path)).pk == first.pk


def test_after_an_answered_or_expired_link_a_new_invite_is_made(practice, frontdesk, frozen):
    first, _ = services.invite_to_questionnaire(context_of(frontdesk), "pat-1", "appt-1")
    QuestionnaireInvite.objects.filter(pk=first.pk).update(completed_at=NOW, response_id="r1")
    second, _ = services.invite_to_questionnaire(context_of(frontdesk), "pat-1", "appt-1")
    assert second.pk != first.pk and second.times_issued == 1


def test_giving_a_link_needs_scheduling_write(practice, auditor):
    with pytest.raises(Forbidden, match="scheduling.write"):
        services.invite_to_questionnaire(context_of(auditor), "pat-1", "appt-1")
    assert not QuestionnaireInvite.objects.exists()


def test_the_patient_and_the_appointment_must_exist_and_belong_together(practice, frontdesk):
    make_patient("pat-2", given="Ann")
    context = context_of(frontdesk)
    with pytest.raises(InvalidRequest, match="Appointment/appt-1 is not an appointment of Patient/pat-2"):
        services.invite_to_questionnaire(context, "pat-2", "appt-1")
    with pytest.raises(NotFound, match="Patient/nobody does not exist"):
        services.invite_to_questionnaire(context, "nobody", "appt-1")
    with pytest.raises(NotFound, match="Appointment/nothing does not exist"):
        services.invite_to_questionnaire(context, "pat-1", "nothing")
    assert not QuestionnaireInvite.objects.exists()


def test_no_link_for_a_cancelled_or_past_visit(practice, frontdesk, frozen):
    make_appointment("appt-cancelled", status="cancelled")
    context = context_of(frontdesk)
    with pytest.raises(InvalidRequest, match="the appointment is cancelled"):
        services.invite_to_questionnaire(context, "pat-1", "appt-cancelled")
    frozen.moment = VISIT_DAY_END + timedelta(minutes=1)
    with pytest.raises(InvalidRequest, match=r"the appointment \(Fri 6 Mar 2026 09:00\) is over"):
        services.invite_to_questionnaire(context, "pat-1", "appt-1")
    assert not QuestionnaireInvite.objects.exists()


def test_without_an_active_pre_visit_questionnaire_the_front_desk_is_told_what_is_missing(practice, frontdesk):
    system_repo().update("Questionnaire", "demo-previsit", {**PREVISIT_QUESTIONNAIRE, "status": "retired"})
    with pytest.raises(InvalidRequest, match="no active pre-visit questionnaire"):
        services.invite_to_questionnaire(context_of(frontdesk), "pat-1", "appt-1")


def test_another_questionnaire_can_be_named_but_must_be_active_and_fillable(practice, frontdesk):
    repo = system_repo()
    repo.update("Questionnaire", "phq-2", {"resourceType": "Questionnaire", "id": "phq-2", "status": "active",
                                           "title": "Mood", "item": [{"linkId": "1", "type": "boolean",
                                                                      "text": "Feeling down?"}]})
    repo.update("Questionnaire", "draft", {"resourceType": "Questionnaire", "id": "draft", "status": "draft",
                                           "item": [{"linkId": "1", "type": "boolean", "text": "?"}]})
    repo.update("Questionnaire", "upload", {"resourceType": "Questionnaire", "id": "upload", "status": "active",
                                            "title": "Upload", "item": [{"linkId": "1", "type": "attachment"}]})
    context = context_of(frontdesk)
    invite, _ = services.invite_to_questionnaire(context, "pat-1", "appt-1", questionnaire_id="phq-2")
    assert invite.questionnaire_id == "phq-2"
    with pytest.raises(InvalidRequest, match="Questionnaire/draft is draft, not active"):
        services.invite_to_questionnaire(context, "pat-1", "appt-1", questionnaire_id="draft")
    with pytest.raises(InvalidRequest, match="Upload cannot be filled in online"):
        services.invite_to_questionnaire(context, "pat-1", "appt-1", questionnaire_id="upload")


def test_giving_and_reissuing_are_in_the_audit_log(practice, frontdesk):
    context = context_of(frontdesk)
    invite, _ = services.invite_to_questionnaire(context, "pat-1", "appt-1")
    services.invite_to_questionnaire(context, "pat-1", "appt-1")
    entries = list(AuditEntry.objects.filter(resource_type="QuestionnaireInvite").order_by("id"))
    assert [(e.action, e.actor_name, e.patient_id, e.resource_ids) for e in entries] == [
        ("create", "frontdesk", "pat-1", invite.reference), ("update", "frontdesk", "pat-1", invite.reference)]
    assert '"appointment":"Appointment/appt-1"' in entries[0].detail
