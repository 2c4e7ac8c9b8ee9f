"""Social security numbers are encrypted in the database, searchable exactly, and come back
as written to everyone allowed to read the resource."""

from __future__ import annotations

import argparse

import pytest
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mederi import cli
from mederi.core import crypto
from mederi.fhir import sensitive
from mederi.fhir.tests.factories import patient

pytestmark = pytest.mark.django_db

SSN = "http://hl7.org/fhir/sid/us-ssn"


@pytest.fixture(autouse=True)
def keys(settings, tmp_path, monkeypatch):
    monkeypatch.delenv(crypto.ENV_KEYS, raising=False)
    monkeypatch.delenv(crypto.INDEX_KEY_ENV, raising=False)
    settings.MEDERI_KEY_FILE = tmp_path / "keys" / "encryption.keys"
    return settings.MEDERI_KEY_FILE


def with_ssn(pid: str, ssn: str) -> dict:
    body = patient(pid)
    body["identifier"] = [{"system": "urn:mrn", "value": f"MRN-{pid}"}, {"system": SSN, "value": ssn}]
    return body


def stored_text(table: str, pid: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT content FROM {table} WHERE resource_type = 'Patient' AND logical_id = %s", [pid])
        return " ".join(row[0] for row in cursor.fetchall())


def index_codes() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT code FROM fhir_idx_token WHERE system = %s", [SSN])
        return [row[0] for row in cursor.fetchall()]


def test_the_database_never_holds_the_number_but_readers_get_it_back(fhir):
    fhir.put("/fhir/R4/Patient/ssn1", with_ssn("ssn1", "123-45-6789"))
    fhir.put("/fhir/R4/Patient/ssn1", {**with_ssn("ssn1", "123-45-6789"), "gender": "female"})
    for table in ("fhir_resource", "fhir_resource_history"):
        text = stored_text(table, "ssn1")
        assert "123-45-6789" not in text and "123456789" not in text and "enc1:" in text
        assert "MRN-ssn1" in text  # other identifiers stay as they are
    assert index_codes() and not any("6789" in code for code in index_codes())

    read = fhir.get("/fhir/R4/Patient/ssn1").json()
    assert read["identifier"][1] == {"system": SSN, "value": "123-45-6789"}
    history = fhir.get("/fhir/R4/Patient/ssn1/_history").json()
    assert {e["resource"]["identifier"][1]["value"] for e in history["entry"]} == {"123-45-6789"}
    # Writing back what was read changes nothing: no new version.
    again = fhir.put("/fhir/R4/Patient/ssn1", read)
    assert again.json()["meta"]["versionId"] == "2"


def test_search_by_the_number_finds_the_patient_with_or_without_dashes(fhir):
    fhir.put("/fhir/R4/Patient/ssn2", with_ssn("ssn2", "987-65-4321"))
    fhir.put("/fhir/R4/Patient/ssn3", with_ssn("ssn3", "111-22-3333"))
    for value in ("987-65-4321", "987654321"):
        bundle = fhir.get(f"/fhir/R4/Patient?identifier={SSN}|{value}").json()
        assert [e["resource"]["id"] for e in bundle["entry"]] == ["ssn2"]
        assert bundle["entry"][0]["resource"]["identifier"][1]["value"] == "987-65-4321"
    assert fhir.get(f"/fhir/R4/Patient?identifier={SSN}|000-00-0000").json()["total"] == 0


def test_key_rotation_re_encrypts_the_stored_numbers(fhir, capsys):
    fhir.put("/fhir/R4/Patient/ssn4", with_ssn("ssn4", "222-33-4444"))
    before = stored_text("fhir_resource", "ssn4")
    assert cli.cmd_keys_new(argparse.Namespace()) == 0
    assert cli.cmd_keys_rotate(argparse.Namespace()) == 0
    assert "sensitive identifiers of 2 resource versions" in capsys.readouterr().out
    after = stored_text("fhir_resource", "ssn4")
    assert after != before and "222-33-4444" not in after
    assert fhir.get("/fhir/R4/Patient/ssn4").json()["identifier"][1]["value"] == "222-33-4444"
    assert fhir.get(f"/fhir/R4/Patient?identifier={SSN}|222-33-4444").json()["total"] == 1


@hsettings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30))
def test_any_identifier_value_seals_and_opens_to_itself(value):
    content = f'{{"resourceType":"Patient","identifier":[{{"system":"{SSN}","value":{_json(value)}}}]}}'
    sealed = sensitive.seal("Patient", content)
    assert sensitive.open_content("Patient", sealed) == content


def _json(value: str) -> str:
    from mederi.fhir import jsonio

    return jsonio.dumps(value)
