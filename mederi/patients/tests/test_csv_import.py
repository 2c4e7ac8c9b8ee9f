"""`mederi import-csv patients`: a dry run reports every bad row, a real run stores all rows or none."""

from __future__ import annotations

import json

import pytest

from mederi import cli
from mederi.conftest import record_row_counts
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository
from mederi.patients import csv_import

HEADER = "Last Name,First Name,DOB,Sex,Phone,Email,Street,City,ST,Zip,Chart,Payer,Member,Group\n"
GOOD = [
    "Chalmers,Peter,12/25/1974,M,555-201-7788,peter@example.com,534 Erewhon St,Springfield,IL,62704,A-100,60054,ACM1,G1",
    "Núñez,María,03/14/1988,F,(555) 330-1212,,1 Lake Ave,Springfield,IL,62701,,Medicare Part B,MED2,",
    "Okafor,Ada,01/02/1990,F,,,,,,,,,,",
]
BAD = [
    ",Nameless,01/01/1980,F,,,,,,,,,,",  # line 5: no family name
    "Future,Fred,12/31/2999,M,,,,,,,,,,",  # line 6: born in the future
    "Typo,Tina,02/30/1985,F,555-12,tina@,,,,,,Nobody Health,,",  # line 7: date, phone, email, payer
    "Twice,Tom,05/05/1970,M,,,,,,,A-100,,,",  # line 8: the MRN of line 2
]
MAPPING = {
    "columns": {"family": "Last Name", "given": "First Name", "birth_date": "DOB", "gender": "Sex", "phone": "Phone",
                "email": "Email", "address_line": "Street", "city": "City", "state": "ST", "postal_code": "Zip",
                "mrn": "Chart", "payer_id": "Payer", "member_id": "Member", "group_number": "Group"},
    "date_format": "MM/DD/YYYY",
}


@pytest.fixture
def files(tmp_path, payers):
    def write(rows, mapping=MAPPING):
        csv_path = tmp_path / "patients.csv"
        csv_path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
        mapping_path = tmp_path / "mapping.json"
        mapping_path.write_text(json.dumps(mapping), encoding="utf-8")
        return csv_path, mapping_path
    return write


def run(*argv: str) -> int:
    args = cli.build_parser().parse_args(["import-csv", *argv, "-q"])
    return args.func(args)


def patients(*params) -> list[dict]:
    result = Repository(Context.system("test")).search("Patient", [*params, ("_count", "100")])
    return [m.as_dict() for m in result.matches]


def test_a_good_file_is_imported(files, capsys):
    csv_path, mapping_path = files(GOOD)
    assert run("patients", str(csv_path), "--mapping", str(mapping_path)) == 0
    assert "imported 3 patients from 3 rows" in capsys.readouterr().out
    [peter] = patients(("family", "Chalmers"))
    assert peter["birthDate"] == "1974-12-25" and peter["gender"] == "male"
    assert [i["value"] for i in peter["identifier"]] == ["A-100"]
    [maria] = patients(("family", "Núñez"))
    assert maria["identifier"][0]["value"].startswith("MRN")  # no chart number: a new one
    coverage = Repository(Context.system("test")).search("Coverage", [("beneficiary", maria["id"])]).matches
    assert coverage[0].as_dict()["payor"][0]["reference"] == "Organization/payer-medicare"
    assert coverage[0].as_dict()["identifier"][0] == {**coverage[0].as_dict()["identifier"][0],
                                                      "system": systems.MEMBER_ID, "value": "MED2"}
    assert Repository(Context.system("test")).search("Consent", [("patient", maria["id"])]).matches == []


def test_a_dry_run_reports_every_bad_row_and_stores_nothing(files, capsys):
    csv_path, mapping_path = files(GOOD + BAD)
    before = record_row_counts()
    assert run("patients", str(csv_path), "--mapping", str(mapping_path), "--dry-run") == 1
    out = capsys.readouterr().out
    assert record_row_counts() == before
    lines = out.splitlines()
    assert "line 5: column 'Last Name' (family): Enter the patient's family (last) name." in lines
    assert any(line.startswith("line 6: column 'DOB' (birth_date)") and "future" in line for line in lines)
    line7 = [line for line in lines if line.startswith("line 7:")]
    assert len(line7) == 4  # date, phone, email and payer each reported
    assert any("not a date in the format %m/%d/%Y" in line for line in line7)
    assert any("'Nobody Health' is not a payer" in line for line in line7)
    assert "line 8: the MRN A-100 is also on line 2" in lines
    assert "4 of 7 rows have problems" in out and "nothing was stored" in out


def test_a_real_run_with_one_bad_row_stores_nothing(files, capsys):
    csv_path, mapping_path = files(GOOD + BAD[:1])
    before = record_row_counts()
    assert run("patients", str(csv_path), "--mapping", str(mapping_path)) == 1
    assert "line 5:" in capsys.readouterr().out
    assert record_row_counts() == before


def test_a_dry_run_of_a_good_file_says_so(files, capsys):
    csv_path, mapping_path = files(GOOD)
    before = record_row_counts()
    assert run("patients", str(csv_path), "--mapping", str(mapping_path), "--dry-run") == 0
    assert "all 3 rows are good" in capsys.readouterr().out
    assert record_row_counts() == before


def test_an_mrn_already_in_the_record_is_a_bad_row(files, capsys):
    Repository(Context.system("test")).create({"resourceType": "Patient", "name": [{"family": "Old"}],
                                               "identifier": [{"system": systems.mrn_system(), "value": "A-100"}]})
    csv_path, mapping_path = files(GOOD)
    assert run("patients", str(csv_path), "--mapping", str(mapping_path)) == 1
    assert "line 2: the MRN A-100 already belongs to a patient in the record" in capsys.readouterr().out


@pytest.mark.parametrize("mapping, words", [
    ({"columns": {"family": "Surname", "given": "First Name", "birth_date": "DOB"}}, "'Surname' (for family)"),
    ({"columns": {"family": "Last Name", "given": "First Name", "birth_date": "DOB", "shoe": "Sex"}}, "shoe"),
    ({"columns": {"family": "Last Name", "given": "First Name"}}, "birth_date"),
    ({"columns": {"family": "Last Name", "given": "First Name", "birth_date": "DOB"}, "date_format": "soon"},
     "is not a date format"),
])
def test_a_bad_mapping_is_explained_before_any_row_is_read(files, capsys, mapping, words):
    csv_path, mapping_path = files(GOOD, mapping)
    assert run("patients", str(csv_path), "--mapping", str(mapping_path)) == 2
    assert words in capsys.readouterr().err


def test_missing_files_and_unreadable_json(files, tmp_path, capsys):
    csv_path, mapping_path = files(GOOD)
    assert run("patients", str(tmp_path / "none.csv"), "--mapping", str(mapping_path)) == 2
    mapping_path.write_text("{not json", encoding="utf-8")
    assert run("patients", str(csv_path), "--mapping", str(mapping_path)) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_a_short_row_is_reported(files, capsys):
    csv_path, mapping_path = files(GOOD + ["Extra,Cells,01/01/1970,M,,,,,,,,,,,,,"])
    assert run("patients", str(csv_path), "--mapping", str(mapping_path), "--dry-run") == 1
    assert "line 5: the row has 17 cells; the header has 14" in capsys.readouterr().out


def test_the_report_is_available_to_code_too(files):
    csv_path, mapping_path = files(GOOD + BAD)
    report = csv_import.import_patients(Context.system("test"), csv_path, csv_import.load_mapping(mapping_path),
                                        dry_run=True)
    assert report.rows == 7 and report.bad_lines == [5, 6, 7, 8] and report.stored_ids == []
