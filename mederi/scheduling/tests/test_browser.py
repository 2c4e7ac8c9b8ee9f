"""The calendar in a real browser: keyboard shortcuts, and booking from the form with the keyboard."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mederi.conftest import needs_chromium, sign_in_browser, staff_user
from mederi.scheduling.tests.conftest import make_directory, make_templates, next_monday

pytestmark = needs_chromium


@pytest.fixture
def signed_in_page(live_server, page, transactional_db):
    make_directory()
    make_templates()
    errors = sign_in_browser(page, live_server, staff_user("fran", "front_desk"))
    yield page
    assert errors == []


def test_keys_move_between_days_and_to_next_available(live_server, signed_in_page):
    page = signed_in_page
    monday = next_monday()
    page.goto(f"{live_server.url}/schedule/?location=clinic-main&date={monday.isoformat()}")
    assert "Dr Ruiz" in page.inner_text("table.sched-grid thead")
    page.keyboard.press("k")
    page.wait_for_url(f"**date={(monday + timedelta(days=1)).isoformat()}")
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(f"**date={monday.isoformat()}")
    page.keyboard.press("n")
    page.wait_for_url("**/schedule/find/**")
    assert "Find the next available time" in page.inner_text("h1")


def test_typing_in_a_field_does_not_trigger_shortcuts(live_server, signed_in_page):
    page = signed_in_page
    page.goto(f"{live_server.url}/schedule/?location=clinic-main&date={next_monday().isoformat()}")
    page.focus("#date")
    page.keyboard.press("k")
    page.keyboard.press("t")
    assert "/schedule/?location=clinic-main" in page.url


def test_booking_with_the_keyboard(live_server, signed_in_page):
    page = signed_in_page
    monday = next_monday()
    page.goto(f"{live_server.url}/schedule/book/?practitioner=dr-ruiz&location=clinic-main&type=fu"
              f"&start={monday.isoformat()}T10:30")
    page.focus("#patient-q")
    page.keyboard.type("Chalmers")
    page.wait_for_selector("input[name=patient_id][value=pat-a]")
    page.check("input[name=patient_id][value=pat-a]")
    page.focus("#id_comment")
    page.keyboard.type("Blood pressure check")
    page.keyboard.press("Tab")  # leave the note field before sending
    page.click("button[type=submit]:text('Book')")
    page.wait_for_url("**/schedule/appointments/**")
    assert "The appointment is booked." in page.inner_text("main")
    assert "Peter Chalmers" in page.inner_text("h1")
