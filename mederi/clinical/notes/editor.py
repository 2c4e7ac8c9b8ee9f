"""The template editor's write: a new version of a note template from the administrator's rows.

Rows are the questions of the four SOAP sections. A row may sit inside a group (a row of type
group, such as the PHQ-9): it names the group's link id, or `new-<n>` for a group added in the
same edit, and takes the group's place in the note. A row that came from the previous version
keeps what the editor does not show (codes, coded answer options with their scores, read-only
totals) unless the administrator changed it. The new version is a new Questionnaire with
the same url and the next version number; the versions before it are retired, and notes written
with them keep reading them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from django.db import transaction

from mederi.clinical.notes import catalogue
from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, Issue
from mederi.fhir import questionnaires
from mederi.fhir.repository import Repository

SECTIONS = (("subjective", "Subjective", "61150-9"), ("objective", "Objective", "61149-1"),
            ("assessment", "Assessment", "51848-0"), ("plan", "Plan", "18776-5"))
ITEM_TYPES = (("string", "Short text"), ("text", "Long text"), ("boolean", "Yes / no"), ("integer", "Whole number"),
              ("decimal", "Number"), ("date", "Date"), ("choice", "Choice"), ("group", "Group of questions"))
KEPT = ("code", "extension", "repeats", "maxLength", "readOnly")  # what a row keeps from its previous version


@dataclass
class Row:
    section: str
    text: str
    type: str
    required: bool = False
    options: list[str] = field(default_factory=list)
    position: int = 0
    link_id: str = ""  # empty for a new question
    group: str = ""  # the key of the group row it sits in; empty: directly in its section
    ref: str = ""  # how other rows name this one while it has no link id yet ("new-<n>")

    @property
    def key(self) -> str:
        return self.link_id or self.ref


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "item"


def _previous_items(resource: dict | None) -> dict[str, dict]:
    found = {}

    def walk(items):
        for item in items or ():
            found[item["linkId"]] = item
            walk(item.get("item"))

    walk((resource or {}).get("item"))
    return found


def _option_labels(raw: dict) -> list[str]:
    labels = []
    for option in raw.get("answerOption") or ():
        if "valueCoding" in option:
            labels.append(option["valueCoding"].get("display") or option["valueCoding"].get("code", ""))
        else:
            labels.append(str(next(iter(option.values()), "")))
    return labels


def _item(row: Row, previous: dict | None, used: set[str]) -> dict:
    link_id = row.link_id if previous is not None else ""
    if not link_id:
        link_id = base = _slug(row.text)
        while link_id in used:
            link_id = f"{base}-{uuid.uuid4().hex[:4]}"
    used.add(link_id)
    item = {k: v for k, v in (previous or {}).items() if k in KEPT}
    item.update({"linkId": link_id, "text": row.text, "type": row.type})
    if row.required:
        item["required"] = True
    if row.type == "choice":
        same = previous is not None and previous.get("type") == "choice" and _option_labels(previous) == row.options
        item["answerOption"] = previous["answerOption"] if same else [{"valueString": o} for o in row.options]
    return item


def _group_problems(rows: list[Row]) -> list[Issue]:
    """Each row's group must be a group row of this edit, not itself nor inside itself, and hold a question."""
    problems = []
    groups = {row.key: row for row in rows if row.type == "group" and row.key}
    for number, row in enumerate(rows):
        if not row.group:
            continue
        where = f"row-{number}-group"
        if row.group not in groups:
            problems.append(Issue("choose a group from the list (that one is not a group of this template)",
                                  expression=where))
            continue
        seen, parent = {row.key}, row.group
        while parent:
            if parent in seen:
                problems.append(Issue("a group cannot sit inside itself", expression=where))
                break
            seen.add(parent)
            parent = groups[parent].group if parent in groups else ""
    filled = {row.group for row in rows if row.group}
    for number, row in enumerate(rows):
        if row.type == "group" and row.key not in filled:
            problems.append(Issue("a group needs at least one question inside it: choose this group for one",
                                  expression=f"row-{number}-type"))
    return problems


def _check_rows(rows: list[Row]) -> list[Issue]:
    problems = []
    for number, row in enumerate(rows):
        where = f"row-{number}"
        if row.section not in {s for s, _, _ in SECTIONS}:
            problems.append(Issue("choose a section", expression=f"{where}-section"))
        if row.type not in {t for t, _ in ITEM_TYPES}:
            problems.append(Issue("choose a kind of answer", expression=f"{where}-type"))
        if row.type == "choice":
            if len(row.options) < 2:
                problems.append(Issue("a choice needs at least two answers, one per line",
                                      expression=f"{where}-options"))
            elif len(set(o.lower() for o in row.options)) != len(row.options):
                problems.append(Issue("each answer may appear only once", expression=f"{where}-options"))
        elif row.options:
            problems.append(Issue("only a choice has answers to choose from; leave this empty or make it a choice",
                                  expression=f"{where}-options"))
    if not rows:
        problems.append(Issue("a template needs at least one question", expression="rows"))
    return problems + _group_problems(rows)


def build_questionnaire(title: str, description: str, rows: list[Row], previous: dict | None) -> dict:
    old = _previous_items(previous)
    used: set[str] = {s for s, _, _ in SECTIONS}
    inside: dict[str, list[Row]] = {}
    for row in rows:
        inside.setdefault(row.group, []).append(row)

    def build(row: Row) -> dict:
        item = _item(row, old.get(row.link_id), used)
        if row.type == "group":
            item["item"] = [build(r) for r in sorted(inside.get(row.key, ()), key=lambda r: r.position)]
        return item

    groups = []
    for key, label, code in SECTIONS:
        mine = sorted((r for r in inside.get("", ()) if r.section == key), key=lambda r: r.position)
        if not mine:
            continue
        groups.append({"linkId": key, "text": label, "type": "group",
                       "code": [{"system": systems.LOINC, "code": code, "display": label}],
                       "item": [build(r) for r in mine]})
    resource = {"resourceType": "Questionnaire", "meta": {"tag": [{"system": systems.QUESTIONNAIRE_USE,
                                                                  "code": "note-template",
                                                                  "display": "Visit note template"}]},
                "title": title, "status": "active", "item": groups}
    if description:
        resource["description"] = description
    if previous and previous.get("code"):
        resource["code"] = previous["code"]
    return resource


def save_template(context: Context, title: str, description: str, rows: list[Row], *,
                  template_id: str | None = None) -> catalogue.Template:
    """Store a new template, or a new version of `template_id`; refuses bad rows naming each field."""
    title = questionnaires.clean_text(title or "", one_line=True)
    description = questionnaires.clean_text(description or "", one_line=False)
    problems = [] if 0 < len(title) <= 200 else [Issue("give the template a title of up to 200 characters",
                                                       expression="title")]
    problems += _check_rows(rows)
    if problems:
        raise InvalidRequest(issues=problems)
    repo = Repository(context)
    with transaction.atomic():
        previous = catalogue.by_id(context, template_id) if template_id else None
        resource = build_questionnaire(title, description, rows, previous.resource if previous else None)
        try:
            questionnaires.parse_questionnaire(resource)
        except questionnaires.UnsupportedQuestionnaire as problem:
            raise InvalidRequest(issues=[Issue(i.diagnostics, expression="rows") for i in problem.issues]) from None
        if previous is not None:
            versions = catalogue.all_versions(context, previous.url)
            resource["url"] = previous.url
            resource["version"] = str(max(int(v.version) for v in versions if v.version.isdigit()) + 1)
            for older in versions:
                if older.status == "active":
                    repo.update("Questionnaire", older.id, {**older.resource, "status": "retired"})
        else:
            slug = base = _slug(title)
            while catalogue.all_versions(context, systems.NOTE_TEMPLATE_URL + slug):
                slug = f"{base}-{uuid.uuid4().hex[:4]}"
            resource["url"], resource["version"] = systems.NOTE_TEMPLATE_URL + slug, "1"
        resource["name"] = re.sub(r"[^A-Za-z0-9]", "", title.title())[:60] or "NoteTemplate"
        stored = repo.create(resource).stored
    return catalogue.template_of(stored.as_dict())
