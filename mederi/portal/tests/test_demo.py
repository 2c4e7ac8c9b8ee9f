"""The demo's pre-visit questionnaire: there once, however often the demo is loaded, and usable."""

from __future__ import annotations

from mederi.fhir.models import Resource
from mederi.fhir.questionnaires import parse_questionnaire
from mederi.portal import demo, services
from mederi.portal.tests.conftest import NOW, context_of, system_repo


def test_loading_the_demo_twice_leaves_one_unchanged_questionnaire(db):
    demo.load_demo(NOW.date())
    demo.load_demo(NOW.date())
    stored = system_repo().read("Questionnaire", "demo-previsit")
    assert stored.version_id == 1
    # One pre-visit questionnaire (the note templates loaded on migrate are Questionnaires too).
    assert Resource.objects.filter(resource_type="Questionnaire").exclude(logical_id__startswith="note-").count() == 1
    found = system_repo().search("Questionnaire", [("url", demo.PREVISIT_URL), ("status", "active")])
    assert [m.logical_id for m in found.matches] == ["demo-previsit"]
    assert len(parse_questionnaire(stored.as_dict())) == 8


def test_the_front_desk_can_give_the_demo_questionnaire(practice, frontdesk):
    invite, _ = services.invite_to_questionnaire(context_of(frontdesk), "pat-1", "appt-1")
    assert invite.questionnaire_id == demo.QUESTIONNAIRE_ID
