"""Reads for the staff screens: the conversations, one conversation with its turns, open requests."""

from __future__ import annotations

from dataclasses import dataclass

from mederi.ai.agent import records
from mederi.ai.agent.models import Conversation, Turn
from mederi.audit import services as audit
from mederi.core.context import Context
from mederi.core.errors import Forbidden, MederiError, NotFound
from mederi.fhir.repository import Repository
from mederi.scheduling import occupancy
from mederi.scheduling import records as scheduling_records

PERMISSION = "scheduling.read"
REFUSAL = "Patients' conversations with the front desk need the scheduling.read permission."


def _require_staff(context: Context) -> None:
    if context.patient_id:  # patients hold scheduling.read for their own visits, not for others' messages
        raise Forbidden("Only the practice's staff see patients' conversations.")
    context.require(PERMISSION, REFUSAL)


def _names(patient_ids) -> dict[str, str]:
    names = occupancy.patient_names({p for p in patient_ids if p})
    return {pid: scheduling_records.person_name({"resourceType": "Patient", "name": name}, pid)
            for pid, name in names.items()}


@dataclass
class ConversationRow:
    conversation: Conversation
    patient_name: str
    last: Turn | None


def conversations(context: Context, *, limit: int = 100) -> list[ConversationRow]:
    """Conversations with a person needed first, then the most recent; the patients shown are audited."""
    _require_staff(context)
    rows = list(Conversation.objects.all()[:limit])
    rows.sort(key=lambda c: (c.state != Conversation.WITH_STAFF or bool(c.taken_by), -c.updated_at.timestamp()))
    names = _names(c.patient_id for c in rows)
    lasts = {}
    for turn in Turn.objects.filter(conversation__in=rows).exclude(speaker=Turn.NOTE).order_by("created_at", "id"):
        lasts[turn.conversation_id] = turn
    shown = sorted({c.patient_id for c in rows if c.patient_id})
    if shown:
        audit.record(context, "search", resource_type="Communication", query="ui: front-desk agent conversations",
                     detail={"patients": shown[:50], "total": len(shown)})
    return [ConversationRow(c, names.get(c.patient_id, c.patient_id or f"Unknown sender {c.address}"), lasts.get(c.pk))
            for c in rows]


@dataclass
class TaskRow:
    id: str
    status: str
    queue: str
    description: str


@dataclass
class ConversationPage:
    conversation: Conversation
    patient_name: str
    turns: list[Turn]
    tasks: list[TaskRow]


def conversation_page(context: Context, conversation_id: int) -> ConversationPage:
    _require_staff(context)
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound("That conversation does not exist.")
    turns = list(conversation.turns.all())
    task_ids = [t.task_id for t in turns if t.task_id]
    tasks = []
    repo = records.repository()  # the staff member's reading is audited below, with the conversation
    for task_id in dict.fromkeys(task_ids):
        try:
            task = repo.read("Task", task_id).as_dict()
        except MederiError:
            continue
        queue = ((task.get("performerType") or [{}])[0]).get("text", "")
        tasks.append(TaskRow(task_id, task.get("status", ""), queue, task.get("description", "")))
    audit.record(context, "read", patient_id=conversation.patient_id or None, resource_type="Communication",
                 resource_ids=[t.communication_id for t in turns if t.communication_id][:100],
                 query=f"ui: front-desk agent conversation {conversation.pk}")
    name = _names([conversation.patient_id]).get(conversation.patient_id, "") or (
        f"Unknown sender {conversation.address}")
    return ConversationPage(conversation, name, turns, tasks)


def open_requests(context: Context) -> dict[str, list[dict]]:
    """The agent's open Tasks by staff queue (refills, billing, front desk)."""
    _require_staff(context)
    repo = Repository(Context.system(records.AGENT_PURPOSE))
    found = repo.search("Task", [("code", f"{records.REQUEST_SYSTEM}|"), ("status", "requested"),
                                 ("_sort", "-_lastUpdated"), ("_count", "100")])
    queues: dict[str, list[dict]] = {name: [] for name in records.QUEUES.values()}
    for stored in found.matches:
        task = stored.as_dict()
        queue = ((task.get("performerType") or [{}])[0]).get("text", "")
        queues.setdefault(queue, []).append({"id": stored.logical_id, "description": task.get("description", ""),
                                             "authored": task.get("authoredOn", ""),
                                             "patient": (task.get("for") or {}).get("reference", "")[8:]})
    return queues


def patient_messages(context: Context) -> list[Turn]:
    """A signed-in patient's own portal conversation: their messages and the answers (no staff notes)."""
    conversation = Conversation.objects.filter(channel="portal", patient_id=context.patient_id).first()
    if conversation is None:
        return []
    turns = list(conversation.turns.exclude(speaker=Turn.NOTE))
    audit.record(context, "read", patient_id=context.patient_id, resource_type="Communication",
                 resource_ids=[t.communication_id for t in turns if t.communication_id][:100],
                 query="portal: my messages to the practice")
    return turns
