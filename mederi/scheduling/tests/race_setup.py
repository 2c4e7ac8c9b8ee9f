"""Helper process of the booking race test: sets up the practice and two signed-in front-desk
sessions in the database a real server uses, and counts what got booked.

    python -m mederi.scheduling.tests.race_setup seed          -> JSON: session keys, a Monday
    python -m mederi.scheduling.tests.race_setup count DAY     -> JSON: {"HH:MM": appointments booked}
"""

from __future__ import annotations

import json
import os
import sys


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mederi.settings")
    import django

    django.setup()


def _session_for(user) -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def seed() -> dict:
    from mederi.conftest import staff_user
    from mederi.scheduling.tests.conftest import make_directory, make_templates, next_monday

    make_directory()
    make_templates()
    sessions = [_session_for(staff_user(name, "front_desk")) for name in ("desk.one", "desk.two")]
    return {"sessions": sessions, "day": next_monday().isoformat()}


def count(day: str) -> dict:
    from datetime import date

    from mederi.scheduling import occupancy, practice_time, records

    first, last = practice_time.day_bounds(date.fromisoformat(day))
    booked: dict[str, int] = {}
    for _, content in occupancy.appointment_rows(first, last, location_id="clinic-main"):
        view = records.view_of(content)
        if view.status == "booked":
            key = practice_time.clock_text(view.start)
            booked[key] = booked.get(key, 0) + 1
    return booked


if __name__ == "__main__":
    _setup()
    command = sys.argv[1]
    print(json.dumps(seed() if command == "seed" else count(sys.argv[2])))
