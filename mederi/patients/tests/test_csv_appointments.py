"""`mederi import-csv appointments`: rows are booked by the scheduling rules, all of them or none."""

from __future__ import annotations

import json
from datetime import time, timedelta

import pytest

from mederi import cli
from mederi.conftest import record_row_counts
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

scheduling = pytest.importorskip("mederi.scheduling.services")
SYSTEM = Context.system("test")
HEADER = "Chart,Provider NPI,Clinic,Visit date,Visit time,Kind,Note\n"
MAPPING = {"columns": {"mrn": "Chart", "practitioner": "Provider NPI", "location": "Clinic", "date": "Visit date",
                       "time": "Visit time", "type": "Kind", "comment": "Note"},
           "date_format": "MM/DD/YYYY", "time_format": "hh:MM AM"}


@pytest.fixture
def practice(db):
    from mederi.scheduling import practice_time

    repo = Repository(SYSTEM)
    repo.update("Location", "loc-main", {"resourceType": "Location", "id": "loc-main", "status": "active",
                                         "name": "Main clinic"})
    repo.update("Practitioner", "doc-1", {"resourceType": "Practitioner", "id": "doc-1", "active": True,
                                          "identifier": [{"system": systems.NPI, "value": "1234567893"}],
                                          "name": [{"family": "Ruiz", "given": ["Ana"]}]})
    for pid, mrn in (("pat-1", "OLD-1"), ("pat-2", "OLD-2")):
        repo.update("Patient", pid, {"resourceType": "Patient", "id": pid, "name": [{"family": pid}],
                                     "identifier": [{"system": systems.mrn_system(), "value": mrn}]})
    scheduling.save_appointment_type(SYSTEM, "fu", "Follow-up", 20, "blue")
    for weekday in range(5):
        scheduling.add_weekly_hours(SYSTEM, "doc-1", "loc-main", weekday, time(8), time(12))
    today = practice_time.today()
    return today + timedelta(days=7 - today.weekday())  # next Monday


def write(tmp_path, rows, mapping=MAPPING):
    csv_path, mapping_path = tmp_path / "appointments.csv", tmp_path / "mapping.json"
    csv_path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    mapping_path.write_text(json.dumps(mapping), encoding="utf-8")
    return str(csv_path), str(mapping_path)


def run(*argv: str) -> int:
    args = cli.build_parser().parse_args(["import-csv", *argv, "-q"])
    return args.func(args)


def appointments() -> list[dict]:
    return [m.as_dict() for m in Repository(SYSTEM).search("Appointment", [("_count", "50")]).matches]


def test_good_rows_are_booked(practice, tmp_path, capsys):
    day = practice.strftime("%m/%d/%Y")
    csv_path, mapping_path = write(tmp_path, [f"OLD-1,1234567893,Main clinic,{day},09:00 AM,fu,knee",
                                              f"OLD-2,1234567893,loc-main,{day},09:20 AM,fu,"])
    assert run("appointments", csv_path, "--mapping", mapping_path) == 0
    assert "imported 2 appointments from 2 rows" in capsys.readouterr().out
    booked = appointments()
    assert sorted(a["participant"][0]["actor"]["reference"] for a in booked) == ["Patient/pat-1", "Patient/pat-2"]
    assert {a["status"] for a in booked} == {"booked"}


def test_bad_rows_are_each_reported_and_nothing_is_booked(practice, tmp_path, capsys):
    day = practice.strftime("%m/%d/%Y")
    sunday = (practice - timedelta(days=1)).strftime("%m/%d/%Y")
    rows = [f"OLD-1,1234567893,Main clinic,{day},09:00 AM,fu,",  # line 2: good
            f"NOBODY,1234567893,Main clinic,{day},10:00 AM,fu,",  # line 3: unknown MRN
            f"OLD-2,1234567893,Main clinic,{day},09:10 AM,fu,",  # line 4: overlaps line 2
            f"OLD-2,1234567893,Main clinic,{sunday},09:00 AM,fu,",  # line 5: not working on Sunday
            f"OLD-2,1234567893,Main clinic,{day},25:00,fu,",  # line 6: not a time
            f"OLD-2,1234567893,Main clinic,{day},11:00 AM,zz,"]  # line 7: unknown type
    csv_path, mapping_path = write(tmp_path, rows)
    before = record_row_counts()
    for extra in (["--dry-run"], []):
        assert run("appointments", csv_path, "--mapping", mapping_path, *extra) == 1
        out = capsys.readouterr().out
        assert record_row_counts() == before
        bad = sorted({int(line.split(":")[0][5:]) for line in out.splitlines() if line.startswith("line ")})
        assert bad == [3, 4, 5, 6, 7], out
        assert "no patient has the MRN NOBODY" in out
        assert "appointment type 'zz'" in out


def test_an_appointment_mapping_must_name_when_and_who(practice, tmp_path, capsys):
    mapping = {"columns": {"practitioner": "Provider NPI", "location": "Clinic", "type": "Kind",
                           "date": "Visit date", "time": "Visit time"}}
    csv_path, mapping_path = write(tmp_path, [], mapping)
    assert run("appointments", csv_path, "--mapping", mapping_path) == 2
    assert "which column holds the patient" in capsys.readouterr().err
