"""The `mederi` command: check, and the errors of import and export a user meets first."""

from __future__ import annotations

import orjson
import pytest
from django.db import connection

from mederi import cli
from mederi.fhir.models import Resource, ResourceHistory

pytestmark = pytest.mark.django_db

PATIENT = {"resourceType": "Patient", "id": "chk-1", "name": [{"family": "Haddad", "given": ["Lina"]}],
           "birthDate": "1991-07-19"}


def run_cli(*argv: str) -> int:
    args = cli.build_parser().parse_args(list(argv))
    return args.func(args)


def tamper(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def record(fhir):
    assert fhir.put("/fhir/R4/Patient/chk-1", PATIENT).status_code == 201
    assert fhir.put("/fhir/R4/Patient/chk-1", {**PATIENT, "gender": "female"}).status_code == 200
    fhir.create({"resourceType": "Observation", "status": "final", "code": {"text": "weight"},
                 "subject": {"reference": "Patient/chk-1"}})
    gone = fhir.create({"resourceType": "Patient", "name": [{"family": "Gone"}]})
    assert fhir.delete(f"/fhir/R4/Patient/{gone['id']}").status_code in (200, 204)
    return fhir


def test_check_reports_ok_on_a_good_record(record, capsys):
    assert run_cli("check") == 0
    out = capsys.readouterr().out
    assert "record check: ok" in out
    assert "PROBLEM" not in out


def test_check_reports_ok_on_an_empty_record(db, capsys):
    assert run_cli("check") == 0
    assert "record check: ok" in capsys.readouterr().out


def test_check_finds_content_that_is_not_json(record, capsys):
    tamper("UPDATE fhir_resource SET content = %s WHERE resource_type = %s AND logical_id = %s",
           ['{"resourceType": "Patient", "id": "chk-1", ', "Patient", "chk-1"])
    assert run_cli("check") == 1
    out = capsys.readouterr().out
    assert "PROBLEM: Patient/chk-1: stored content is not valid JSON" in out
    assert "record check: 1 problems" in out


def test_check_finds_content_swapped_for_another_resource(record, capsys):
    other = {**PATIENT, "id": "someone-else", "meta": {"versionId": "2"}}
    tamper("UPDATE fhir_resource SET content = %s WHERE resource_type = %s AND logical_id = %s",
           [orjson.dumps(other).decode(), "Patient", "chk-1"])
    assert run_cli("check") == 1
    out = capsys.readouterr().out
    assert "PROBLEM: Patient/chk-1: stored content is Patient/someone-else" in out


def test_check_finds_a_version_that_disagrees_with_the_table(record, capsys):
    row = Resource.objects.get(resource_type="Patient", logical_id="chk-1")
    body = orjson.loads(row.content)
    body["meta"]["versionId"] = "7"
    body["gender"] = "male"  # an edit by hand that bypassed the record
    tamper("UPDATE fhir_resource SET content = %s WHERE id = %s", [orjson.dumps(body).decode(), row.pk])
    assert run_cli("check") == 1
    out = capsys.readouterr().out
    assert "Patient/chk-1: stored content says version 7, the table says 2" in out


def test_check_finds_a_missing_history_row(record, capsys):
    tamper("DELETE FROM fhir_resource_history WHERE resource_type = %s AND logical_id = %s AND version_id = %s",
           ["Patient", "chk-1", 2])
    assert ResourceHistory.objects.filter(logical_id="chk-1").count() == 1
    assert run_cli("check") == 1
    out = capsys.readouterr().out
    assert "PROBLEM: Patient/chk-1: version 2 is missing from the history" in out
    assert "record check: 1 problems" in out


def test_check_lists_every_problem(record, capsys):
    tamper("UPDATE fhir_resource SET content = %s WHERE resource_type = %s", ["not json", "Observation"])
    tamper("UPDATE fhir_resource SET version_id = %s WHERE resource_type = %s AND logical_id = %s",
           [5, "Patient", "chk-1"])
    assert run_cli("check") == 1
    out = capsys.readouterr().out
    assert "Observation/" in out and "stored content is not valid JSON" in out
    assert "Patient/chk-1: version 5 is missing from the history" in out
    assert "record check: 3 problems" in out  # chk-1 also disagrees with its own meta.versionId


def test_import_of_a_missing_path_exits_2_and_names_it(tmp_path, db, capsys):
    missing = tmp_path / "nowhere" / "bundle.json"
    assert run_cli("import", str(missing), "-q") == 2
    captured = capsys.readouterr()
    assert f"no such file or directory: {missing}" in captured.err
    assert Resource.objects.count() == 0


def test_import_with_one_missing_path_imports_nothing(tmp_path, db, capsys):
    present = tmp_path / "p.json"
    present.write_bytes(orjson.dumps(PATIENT))
    assert run_cli("import", str(present), str(tmp_path / "absent.ndjson"), "-q") == 2
    assert "absent.ndjson" in capsys.readouterr().err
    assert Resource.objects.count() == 0


def test_export_of_an_unknown_type_exits_2(tmp_path, db, capsys):
    out = tmp_path / "out"
    assert run_cli("export", "--out", str(out), "--type", "Foo", "-q") == 2
    assert "not FHIR R4 resource types: Foo" in capsys.readouterr().err
    assert not any(out.iterdir())


def test_export_names_only_the_unknown_types(tmp_path, db, capsys):
    assert run_cli("export", "--out", str(tmp_path), "--type", "Patient,Foo,Observaton", "-q") == 2
    err = capsys.readouterr().err
    assert "Foo, Observaton" in err and "Patient," not in err


def test_main_exits_with_the_command_status(tmp_path, db, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["export", "--out", str(tmp_path), "--type", "Foo"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["check"])
    assert exit_info.value.code == 0
    assert "record check: ok" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.build_parser().parse_args(["frobnicate"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
