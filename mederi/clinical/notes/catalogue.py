"""Note templates: FHIR Questionnaires tagged `note-template`, the six shipped ones loaded on migrate.

A template is named by its canonical url (`urn:mederi:note-template:<slug>`) and version. Each
version is its own Questionnaire resource: editing a template stores a new version and retires
the one before, and a note always names the exact version it was written with (`url|version`),
so notes begun with an older version keep working.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, NotFound
from mederi.fhir import questionnaires
from mederi.fhir.repository import Repository

SHIPPED = Path(__file__).parent / "shipped"
TAG = f"{systems.QUESTIONNAIRE_USE}|note-template"
DEFAULT_NOTE_TYPE = ("11506-3", "Progress note")
ADULT_VISIT = f"{systems.NOTE_TEMPLATE_URL}adult-visit"


@dataclass(frozen=True)
class Template:
    id: str
    url: str
    version: str
    title: str
    status: str
    description: str
    resource: dict

    @property
    def canonical(self) -> str:
        return f"{self.url}|{self.version}"

    @property
    def slug(self) -> str:
        return self.url.removeprefix(systems.NOTE_TEMPLATE_URL)

    @property
    def note_type(self) -> dict:
        """The Composition.type of notes written with it: the template's own LOINC code, or a progress note."""
        for coding in self.resource.get("code") or ():
            if coding.get("system") == systems.LOINC:
                return {"coding": [{"system": systems.LOINC, "code": coding["code"],
                                    "display": coding.get("display", "")}]}
        code, display = DEFAULT_NOTE_TYPE
        return {"coding": [{"system": systems.LOINC, "code": code, "display": display}]}

    def items(self) -> list[questionnaires.Item]:
        return questionnaires.parse_questionnaire(self.resource)


def template_of(resource: dict) -> Template:
    return Template(resource["id"], resource.get("url", ""), str(resource.get("version", "")),
                    resource.get("title") or resource.get("name") or resource["id"], resource.get("status", ""),
                    resource.get("description", ""), resource)


def shipped_resources() -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(SHIPPED.glob("*.json"))]


def load_shipped_templates() -> int:
    """Add each shipped template whose url the record does not hold yet; returns how many were added.

    A template an administrator has edited since is left alone: their versions are the practice's.
    """
    repo = Repository(Context.system("note templates"))
    added = 0
    for resource in shipped_resources():
        if not repo.search("Questionnaire", [("url", resource["url"]), ("_count", "1")], first_page_only=True).matches:
            repo.update("Questionnaire", resource["id"], resource)
            added += 1
    return added


def active_templates(context: Context) -> list[Template]:
    """The templates a clinician can choose from, by title."""
    found = Repository(context).search("Questionnaire", [("_tag", TAG), ("status", "active"), ("_count", "200")],
                                       first_page_only=True).matches
    return sorted((template_of(s.as_dict()) for s in found), key=lambda t: t.title.lower())


def all_versions(context: Context, url: str) -> list[Template]:
    """Every version of one template, newest first."""
    found = Repository(context).search("Questionnaire", [("url", url), ("_count", "200")],
                                       first_page_only=True).matches
    return sorted((template_of(s.as_dict()) for s in found), key=lambda t: _version_key(t.version), reverse=True)


def latest_templates(context: Context) -> list[Template]:
    """The newest version of every template, active or retired, by title (the editor's list)."""
    found = Repository(context).search("Questionnaire", [("_tag", TAG), ("_count", "500")],
                                       first_page_only=True).matches
    newest: dict[str, Template] = {}
    for stored in found:
        template = template_of(stored.as_dict())
        held = newest.get(template.url)
        if held is None or _version_key(template.version) > _version_key(held.version):
            newest[template.url] = template
    return sorted(newest.values(), key=lambda t: t.title.lower())


def by_id(context: Context, template_id: str) -> Template:
    resource = Repository(context).read("Questionnaire", template_id).as_dict()
    if TAG.split("|")[1] not in {t.get("code") for t in (resource.get("meta") or {}).get("tag") or ()}:
        raise NotFound(f"Questionnaire/{template_id} is not a note template")
    return template_of(resource)


def by_canonical(context: Context, canonical: str) -> Template:
    """The exact version a note names (`url|version`)."""
    url, _, version = canonical.partition("|")
    params = [("url", url), ("_count", "1")] + ([("version", version)] if version else [])
    found = Repository(context).search("Questionnaire", params, first_page_only=True).matches
    if not found:
        raise InvalidRequest.single(f"there is no note template {canonical}", expression="template")
    return template_of(found[0].as_dict())


def _version_key(version: str):
    return (0, int(version)) if version.isdigit() else (1, version)
