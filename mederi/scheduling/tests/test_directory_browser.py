"""The directory in a real browser: an administrator adds a room, then books a visit in it."""

from __future__ import annotations

import pytest

from mederi.conftest import needs_chromium, sign_in_browser, staff_user
from mederi.scheduling.tests.conftest import make_directory, make_templates, next_monday

pytestmark = needs_chromium


@pytest.fixture
def admin_page(live_server, page, transactional_db):
    make_directory()
    make_templates()
    errors = sign_in_browser(page, live_server, staff_user("ada", "practice_admin"))
    yield page
    assert errors == []


def test_a_room_added_on_the_location_page_is_offered_when_booking(live_server, admin_page):
    page = admin_page
    page.goto(f"{live_server.url}/schedule/")
    page.click("text=Locations and providers")
    page.click("a:text-is('Main clinic')")
    page.fill("#id_room_name", "Exam 7")
    page.click("button:text-is('Add the room')")
    assert "Added the room Exam 7." in page.inner_text("main")
    page.fill("#id_room_name", "exam 7")
    page.click("button:text-is('Add the room')")
    assert "This location already has a room named Exam 7." in page.inner_text("#id_room_name-error")

    monday = next_monday()
    page.goto(f"{live_server.url}/schedule/book/?practitioner=dr-ruiz&location=clinic-main&type=fu"
              f"&start={monday.isoformat()}T10:30&patient=pat-a")
    page.select_option("#id_room_id", label="Exam 7")
    page.click("button:text-is('Book')")
    page.wait_for_url("**/schedule/appointments/**")
    assert "Exam 7" in page.inner_text("dl.facts")
    page.goto(f"{live_server.url}/schedule/?location=clinic-main&date={monday.isoformat()}")
    assert "Exam 7" in page.inner_text("table.sched-grid")
