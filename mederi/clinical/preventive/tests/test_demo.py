"""The demo practice shows care gaps and a non-empty quality measures report."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.test import Client

from mederi.clinical.preventive import cards, demo
from mederi.conftest import FrozenClock, staff_user
from mederi.core.context import Context

pytestmark = pytest.mark.django_db


def test_the_demo_patients_show_gaps_and_fill_the_measures(monkeypatch):
    FrozenClock.install(monkeypatch, datetime(2026, 11, 2, 16, 0, tzinfo=timezone.utc))
    assert "13 new entries" in demo.load_demo(demo.FIRST_DAY)
    assert "0 new entries" in demo.load_demo(demo.FIRST_DAY)  # loading twice changes nothing
    system = Context.system("test")
    carmen = {g["rule"] for g in cards.care_gaps(system, "demo-prev-carmen")}
    assert {"breast-screening", "colorectal-screening"} <= carmen
    assert not {"cervical-screening", "hypertension-screening", "depression-screening"} & carmen
    minh = {g["rule"] for g in cards.care_gaps(system, "demo-prev-minh")}
    assert "statin-primary-prevention" in minh

    doctor = Client()
    doctor.force_login(staff_user("drdemo", "physician"))
    page = doctor.get("/reports/quality-measures/", {"date_from": "2026-10-01", "date_to": "2026-11-02"})
    html = page.content.decode()
    assert "HbA1c 9.4% on 2026-10-26" in html and "152/94 mmHg" in html
    assert "Tobacco user (screened 2026-11-02), no cessation intervention." in html
