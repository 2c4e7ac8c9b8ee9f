"""Writes of the patient-facing pages: giving a pre-visit questionnaire link, and taking the answers.

- `invite_to_questionnaire(context, patient_id, appointment_id, questionnaire_id=None)` (front desk,
  needs scheduling.write) returns the invite and the link's path `/p/q/<token>`. The token is shown
  once: only its SHA-256 digest is kept. Giving a link again while one is open reissues it: a new
  token, and the old link stops working.
- `answer_questionnaire(token, data, remote_addr=None)` (the patient, no sign-in: the token is the
  authority) checks the answers and writes them as a QuestionnaireResponse, acting as the server on
  the patient's behalf, named "patient via questionnaire link" in the audit log. Answers with a
  problem raise `InvalidAnswers` and nothing is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta

from django.db import transaction
from django.urls import reverse

from mederi.audit import services as audit
from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest
from mederi.fhir import questionnaires
from mederi.fhir.repository import Repository
from mederi.portal import records
from mederi.portal.errors import InvalidAnswers, QuestionnaireLinkError
from mederi.portal.models import QuestionnaireInvite
from mederi.scheduling import practice_time

INVITE_LIFETIME = timedelta(days=7)
PATIENT_ACTOR = "patient via questionnaire link"
GIVE_PERMISSION = "scheduling.write"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_path(token: str) -> str:
    return reverse("portal:questionnaire", args=[token])


def patient_context(remote_addr: str | None = None) -> Context:
    """Who acts for the holder of a questionnaire link: the server, named for the audit log."""
    return replace(Context.system("patient-questionnaire"), user_name=PATIENT_ACTOR, role="patient",
                   remote_addr=remote_addr)


def _actor(context: Context) -> str:
    return audit.actor_name(context)


# -- giving the link --------------------------------------------------------------------------------


def invite_to_questionnaire(context: Context, patient_id: str, appointment_id: str,
                            questionnaire_id: str | None = None) -> tuple[QuestionnaireInvite, str]:
    """Give the patient a link to the questionnaire before this appointment: (invite, "/p/q/<token>")."""
    context.require(GIVE_PERMISSION, f"your roles do not allow you to give questionnaire links (this needs {GIVE_PERMISSION})")
    repo = Repository(context)
    repo.read("Patient", patient_id)  # exists, and the caller may see it
    appointment = repo.read("Appointment", appointment_id).as_dict()
    if records.patient_of_appointment(appointment) != patient_id:
        raise InvalidRequest.single(f"Appointment/{appointment_id} is not an appointment of Patient/{patient_id}",
                                    expression="appointment_id")
    if appointment.get("status") in records.CLOSED_STATUSES:
        raise InvalidRequest.single(f"the appointment is {appointment['status']}: there is no visit to prepare for",
                                    expression="appointment_id")
    questionnaire = _questionnaire(repo, questionnaire_id)
    now = clock.now()
    expires = now + INVITE_LIFETIME
    start = records.appointment_start(appointment)
    if start is not None:
        expires = min(expires, practice_time.day_bounds(practice_time.local_day(start))[1])
    if expires <= now:
        raise InvalidRequest.single(f"the appointment ({records.staff_when(start)}) is over: a questionnaire link "
                                    "is only given before or on the day of the visit", expression="appointment_id")
    token = secrets.token_urlsafe(32)
    actor = _actor(context)
    with transaction.atomic():
        invite = (QuestionnaireInvite.objects.select_for_update()
                  .filter(appointment_id=appointment_id, completed_at__isnull=True, expires__gt=now)
                  .order_by("-created", "-pk").first())
        reissued = invite is not None
        if invite is None:
            invite = QuestionnaireInvite(patient_id=patient_id, appointment_id=appointment_id, created=now,
                                         created_by=actor, times_issued=0)
        invite.patient_id = patient_id
        invite.token_hash = hash_token(token)  # the old link (if any) stops working here
        invite.questionnaire_id = questionnaire["id"]
        invite.issued = now
        invite.issued_by = actor
        invite.times_issued += 1
        invite.expires = expires
        invite.save()
        audit.record(context, "update" if reissued else "create", patient_id=patient_id,
                     resource_type="QuestionnaireInvite", resource_ids=[invite.reference],
                     query=f"questionnaire link {'given again' if reissued else 'given'}",
                     detail={"appointment": f"Appointment/{appointment_id}",
                             "questionnaire": f"Questionnaire/{questionnaire['id']}",
                             "expires": clock.fhir_instant(expires)})
    return invite, link_path(token)


def _questionnaire(repo: Repository, questionnaire_id: str | None) -> dict:
    """The questionnaire asked for, or the practice's active pre-visit one; it must be fillable here."""
    if questionnaire_id:
        questionnaire = repo.read("Questionnaire", questionnaire_id).as_dict()
        if questionnaire.get("status") != "active":
            raise InvalidRequest.single(f"Questionnaire/{questionnaire_id} is {questionnaire.get('status')}, "
                                        "not active: make it active before giving it to patients",
                                        expression="questionnaire_id")
    else:
        found = repo.search("Questionnaire", [("url", records.PREVISIT_URL), ("status", "active"),
                                              ("_sort", "-_lastUpdated"), ("_count", "1")])
        if not found.matches:
            raise InvalidRequest.single(f"the practice has no active pre-visit questionnaire (a Questionnaire with "
                                        f"url {records.PREVISIT_URL} and status active); an administrator adds one",
                                        expression="questionnaire_id")
        questionnaire = found.matches[0].as_dict()
    questionnaires.parse_questionnaire(questionnaire)  # refuses what the patient's page could not ask
    return questionnaire


# -- taking the answers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswersStored:
    invite: QuestionnaireInvite
    response_id: str
    first_name: str  # for the thank-you page
    when: str


def answer_questionnaire(token: str, data, remote_addr: str | None = None) -> AnswersStored:
    """Store the patient's answers (`data`: the submitted form) and close the link."""
    from mederi.portal import selectors

    context = patient_context(remote_addr)
    opened = selectors.open_questionnaire(token, remote_addr=remote_addr, purpose="questionnaire answers sent")
    filled = questionnaires.read_answers(opened.items, data)
    if not filled.valid:
        raise InvalidAnswers(filled, opened)
    invite = opened.invite
    resource = records.questionnaire_response(
        questionnaire=opened.questionnaire, patient_id=invite.patient_id, appointment_id=invite.appointment_id,
        items=questionnaires.response_items(opened.items, filled))
    with transaction.atomic():
        current = QuestionnaireInvite.objects.select_for_update().filter(pk=invite.pk).first()
        if current is None or current.token_hash != hash_token(token):
            raise QuestionnaireLinkError.unknown()  # given again meanwhile: this link was replaced
        if current.completed_at is not None:
            raise QuestionnaireLinkError.used()  # sent twice (a double click): the first one counts
        stored = Repository(context).create(resource).stored
        current.completed_at = clock.now()
        current.response_id = stored.logical_id
        current.save(update_fields=["completed_at", "response_id"])
    return AnswersStored(current, stored.logical_id, opened.first_name, opened.when)
