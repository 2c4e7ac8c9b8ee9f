"""The agent's practice: Dr. Ruiz with weekday morning hours at a clinic that records its hours and
address, and Maria Lopez with a follow-up booked Thursday 9:00 (the clock says Monday 8:00, UTC)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from mederi.ai.agent import evaluation
from mederi.conftest import FrozenClock
from mederi.core.context import Context
from mederi.fhir.repository import Repository

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)  # a Monday
PATIENT = evaluation.PATIENT
MOBILE = "+15551230001"


@pytest.fixture(autouse=True)
def practice_clock_in_utc(settings):
    settings.MEDERI_PRACTICE_TIME_ZONE = "UTC"
    settings.MEDERI_LLM_URL = ""  # the offline engine unless a test starts the stand-in server


@pytest.fixture
def frozen(monkeypatch) -> FrozenClock:
    return FrozenClock.install(monkeypatch, NOW)


@pytest.fixture
def appointment(db, frozen) -> str:
    return evaluation.make_practice()


def read(resource_type: str, logical_id: str) -> dict:
    return Repository(Context.system("test")).read(resource_type, logical_id).as_dict()


def search(resource_type: str, params) -> list[dict]:
    return [s.as_dict() for s in Repository(Context.system("test")).search(resource_type, params).matches]
