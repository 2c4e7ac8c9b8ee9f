"""The demo practice has a visit with a signed note and one with a draft in progress, and a nurse
practitioner supervised by Dr Ruiz, once."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from mederi.clinical.notes import demo, encounters, supervision
from mederi.clinical.notes.selectors import encounter_note
from mederi.conftest import record_row_counts
from mederi.core.context import Context
from mederi.fhir.bundles import BundleProcessor
from mederi.fhir.repository import Repository
from mederi.scheduling import practice_time
from mederi.scheduling.demo import load_demo as load_schedule

pytestmark = pytest.mark.django_db


def test_the_demo_visits_have_a_signed_note_and_a_draft():
    from mederi.demo import _load_demo_users, demo_resources

    repo = Repository(Context.system("test"))
    BundleProcessor(repo).process({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for r in demo_resources()]})
    _load_demo_users()
    today = practice_time.today()
    load_schedule(today)

    loaded = demo.load_demo(today)
    assert "signed note" in loaded and "Jordan Lee, NP (login nplee" in loaded
    assert supervision.supervisor_of(repo, "demo-np-lee") == "demo-dr-ruiz"
    assert get_user_model().objects.get(username="nplee").profile.practitioner_id == "demo-np-lee"
    day = demo._first_working_day(today)
    signed = encounter_note(repo, encounters.encounter_of_appointment(
        repo, f"demo-appt-{day:%Y%m%d}-0-1000-ruiz")["id"])
    draft = encounter_note(repo, encounters.encounter_of_appointment(
        repo, f"demo-appt-{day:%Y%m%d}-0-0930-ruiz")["id"])
    assert (signed.status, signed.encounter["status"]) == ("signed", "finished")
    assert (draft.status, draft.encounter["status"]) == ("draft", "in-progress")

    before = record_row_counts()
    assert "loaded before" in demo.load_demo(today)
    assert record_row_counts() == before
