"""Reads of the patient-facing pages, each audited as the page that shows it.

- `open_questionnaire(token)`: what the holder of a questionnaire link sees (the questionnaire, the
  patient's first name, the visit's date and time, nothing more), or a `QuestionnaireLinkError`;
- `invite_panel(context, appointment_id)`: the state of an appointment's questionnaire link, for the
  check-in page (scheduling.read);
- `response_page(context, response_id)`: a QuestionnaireResponse as readable rows (clinical.read).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from mederi.audit import services as audit
from mederi.core import clock
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, MederiError
from mederi.fhir import questionnaires
from mederi.fhir.repository import Repository
from mederi.portal import records
from mederi.portal.errors import QuestionnaireLinkError
from mederi.portal.models import QuestionnaireInvite
from mederi.portal.services import GIVE_PERMISSION, hash_token, patient_context
from mederi.scheduling import practice_time

MAX_TOKEN_LENGTH = 128

# -- the patient's page --------------------------------------------------------------------------------


@dataclass
class OpenQuestionnaire:
    invite: QuestionnaireInvite
    questionnaire: dict
    items: list[questionnaires.Item]
    first_name: str
    when: str  # the visit's date and time, or "" when it has none

    @property
    def title(self) -> str:
        return self.questionnaire.get("title") or "Questions before your visit"

    @property
    def description(self) -> str:
        return self.questionnaire.get("description") or ""


def find_invite(token: str) -> QuestionnaireInvite:
    """The open invite a token belongs to; QuestionnaireLinkError when it is unknown, used or expired."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise QuestionnaireLinkError.unknown()
    invite = QuestionnaireInvite.objects.filter(token_hash=hash_token(token)).first()
    if invite is None:
        raise QuestionnaireLinkError.unknown()
    if invite.completed_at is not None:
        raise QuestionnaireLinkError.used()
    if invite.is_expired(clock.now()):
        raise QuestionnaireLinkError.expired()
    return invite


def open_questionnaire(token: str, *, remote_addr: str | None = None,
                       purpose: str = "questionnaire link opened") -> OpenQuestionnaire:
    invite = find_invite(token)
    context = patient_context(remote_addr)
    repo = Repository(context)
    try:
        appointment = repo.read("Appointment", invite.appointment_id).as_dict()
        patient = repo.read("Patient", invite.patient_id).as_dict()
        questionnaire = repo.read("Questionnaire", invite.questionnaire_id).as_dict()
        items = questionnaires.parse_questionnaire(questionnaire)
    except MederiError as problem:  # deleted, merged away, or changed into something the page cannot ask
        raise QuestionnaireLinkError.withdrawn() from problem
    if (appointment.get("status") in records.CLOSED_STATUSES
            or records.patient_of_appointment(appointment) != invite.patient_id):
        raise QuestionnaireLinkError.withdrawn()
    audit.record(context, "read", patient_id=invite.patient_id, resource_ids=[
        f"Patient/{invite.patient_id}", f"Appointment/{invite.appointment_id}",
        f"Questionnaire/{invite.questionnaire_id}"], query=purpose,
        detail={"invite": invite.reference, "shown": "first name, appointment date and time"})
    return OpenQuestionnaire(invite=invite, questionnaire=questionnaire, items=items,
                             first_name=records.first_name(patient),
                             when=records.patient_when(records.appointment_start(appointment)))


# -- the check-in panel --------------------------------------------------------------------------------


@dataclass(frozen=True)
class InviteRow:
    invite_id: int
    issued: str
    issued_by: str
    times_issued: int
    expires: str
    completed: str
    response_id: str


@dataclass
class InvitePanel:
    appointment_id: str
    patient_id: str
    when: str
    state: str  # none | open | completed | expired
    latest: InviteRow | None
    answered: list[InviteRow] = field(default_factory=list)  # every completed invite, newest first
    can_give: bool = False
    cannot_give: str = ""  # why no link can be given, in words
    can_view_answers: bool = False


def _stamp(moment: datetime | None) -> str:
    return records.staff_when(moment) if moment else ""


def _row(invite: QuestionnaireInvite) -> InviteRow:
    return InviteRow(invite.pk, _stamp(invite.issued), invite.issued_by, invite.times_issued,
                     records.until_when(invite.expires), _stamp(invite.completed_at), invite.response_id)


def patient_of_appointment(context: Context, appointment_id: str) -> str:
    """The patient an appointment is for (read as `context`; the page that follows audits what it shows)."""
    appointment = Repository(context).read("Appointment", appointment_id).as_dict()
    patient_id = records.patient_of_appointment(appointment)
    if not patient_id:
        raise InvalidRequest.single(f"Appointment/{appointment_id} has no patient", expression="appointment_id")
    return patient_id


def invite_panel(context: Context, appointment_id: str) -> InvitePanel:
    """An appointment's questionnaire link: none, given (open), answered or expired."""
    appointment = Repository(context).read("Appointment", appointment_id).as_dict()
    patient_id = records.patient_of_appointment(appointment) or ""
    invites = list(QuestionnaireInvite.objects.filter(appointment_id=appointment_id).order_by("-created", "-pk"))
    now = clock.now()
    latest = invites[0] if invites else None
    if latest is None:
        state = "none"
    elif latest.completed_at is not None:
        state = "completed"
    elif latest.is_expired(now):
        state = "expired"
    else:
        state = "open"
    start = records.appointment_start(appointment)
    cannot_give = ""
    if appointment.get("status") in records.CLOSED_STATUSES:
        cannot_give = f"The appointment is {appointment['status']}."
    elif start is not None and practice_time.day_bounds(practice_time.local_day(start))[1] <= now:
        cannot_give = "The appointment is over."
    elif not patient_id:
        cannot_give = "The appointment has no patient."
    audit.record(context, "read", patient_id=patient_id or None, resource_type="QuestionnaireInvite",
                 resource_ids=[i.reference for i in invites] or [f"Appointment/{appointment_id}"],
                 query=f"ui: questionnaire link of Appointment/{appointment_id}")
    return InvitePanel(
        appointment_id=appointment_id, patient_id=patient_id, when=records.staff_when(start), state=state,
        latest=_row(latest) if latest else None,
        answered=[_row(i) for i in invites if i.completed_at is not None],
        can_give=not cannot_give and (context.is_system or GIVE_PERMISSION in context.permissions),
        cannot_give=cannot_give,
        can_view_answers=context.is_system or "clinical.read" in context.permissions,
    )


# -- a response, readably --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerRow:
    depth: int  # 0 for top-level items, 1 inside a group, ...
    question: str
    answers: tuple[str, ...]  # empty for a group heading


@dataclass
class ResponsePage:
    response_id: str
    title: str
    status: str
    authored: str
    patient_id: str
    patient_name: str
    appointment_id: str
    appointment_when: str
    source: str
    rows: list[AnswerRow]


def response_page(context: Context, response_id: str) -> ResponsePage:
    """A QuestionnaireResponse with its questions and answers in words."""
    repo = Repository(context)
    response = repo.read("QuestionnaireResponse", response_id).as_dict()
    patient_id = audit.patient_from_reference((response.get("subject") or {}).get("reference")) or ""
    read = [f"QuestionnaireResponse/{response_id}"]
    title = _questionnaire_title(repo, response.get("questionnaire") or "")
    patient_name = f"Patient/{patient_id}" if patient_id else ""
    if patient_id:
        try:
            patient_name = records.full_name(repo.read("Patient", patient_id).as_dict())
            read.append(f"Patient/{patient_id}")
        except MederiError:
            pass
    appointment_id = records.appointment_of_response(response) or ""
    appointment_when = ""
    if appointment_id:
        try:
            appointment = repo.read("Appointment", appointment_id).as_dict()
            appointment_when = records.staff_when(records.appointment_start(appointment))
            read.append(f"Appointment/{appointment_id}")
        except MederiError:
            pass
    authored = response.get("authored") or ""
    try:
        authored = records.staff_when(practice_time.parse_instant(authored)) if authored else ""
    except ValueError:
        pass
    source_reference = (response.get("source") or {}).get("reference") or ""
    source = "the patient" if source_reference == f"Patient/{patient_id}" else source_reference
    audit.record(context, "read", patient_id=patient_id or None, resource_type="QuestionnaireResponse",
                 resource_ids=read, query="ui: questionnaire answers")
    return ResponsePage(response_id=response_id, title=title, status=response.get("status") or "",
                        authored=authored, patient_id=patient_id, patient_name=patient_name,
                        appointment_id=appointment_id, appointment_when=appointment_when, source=source,
                        rows=list(_rows(response.get("item") or [], 0)))


def _questionnaire_title(repo: Repository, reference: str) -> str:
    if not reference:
        return "Questionnaire"
    try:
        if reference.startswith("Questionnaire/"):
            found = [repo.read("Questionnaire", reference.removeprefix("Questionnaire/"))]
        else:
            url, _, version = reference.partition("|")
            params = [("url", url)] + ([("version", version)] if version else [])
            found = repo.search("Questionnaire", params).matches
    except MederiError:
        found = []
    for stored in found:
        questionnaire = stored.as_dict()
        return questionnaire.get("title") or questionnaire.get("name") or reference
    return reference


def _rows(items: list[dict], depth: int):
    for item in items:
        if not isinstance(item, dict):
            continue
        question = item.get("text") or item.get("linkId") or ""
        answers = [a for a in item.get("answer") or () if isinstance(a, dict)]
        yield AnswerRow(depth, question, tuple(answer_text(a) for a in answers))
        yield from _rows(item.get("item") or [], depth + 1)
        for answer in answers:
            yield from _rows(answer.get("item") or [], depth + 1)


def answer_text(answer: dict) -> str:
    """One answer of a QuestionnaireResponse in words."""
    for key, value in answer.items():
        if not key.startswith("value"):
            continue
        if key == "valueBoolean":
            return "Yes" if value else "No"
        if key == "valueCoding":
            return str(value.get("display") or value.get("code") or "")
        if key == "valueDate":
            try:
                day = date.fromisoformat(value)
                return f"{day.day} {day:%b %Y}"
            except (TypeError, ValueError):
                return str(value)
        if key == "valueQuantity":
            return " ".join(str(value.get(k)) for k in ("value", "unit") if value.get(k) is not None)
        if key == "valueReference":
            return str(value.get("display") or value.get("reference") or "")
        if key == "valueAttachment":
            return str(value.get("title") or "an attachment")
        return str(value)
    return ""
