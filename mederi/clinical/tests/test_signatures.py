"""Signing clinical documents, and `mederi check` noticing a signed version changed behind the record."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection

from mederi import cli
from mederi.accounts.context import context_for_user
from mederi.audit.models import AuditEntry
from mederi.audit.tests.helpers import last_id, since
from mederi.clinical import selectors
from mederi.clinical.models import DocumentSignature
from mederi.clinical.services import sign_document
from mederi.conftest import record_row_counts, staff_user
from mederi.core.context import Context
from mederi.core.errors import Conflict, Forbidden, InvalidRequest, NotFound
from mederi.fhir.models import Resource, ResourceHistory
from mederi.fhir.repository import Repository

pytestmark = pytest.mark.django_db

NOTE = {
    "resourceType": "Composition", "id": "note-1", "status": "preliminary",
    "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3", "display": "Progress note"}]},
    "subject": {"reference": "Patient/pat-1"}, "date": "2026-03-02T10:00:00Z",
    "author": [{"reference": "Practitioner/pr-1"}], "title": "Follow-up visit",
    "section": [{"title": "Plan", "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">"
                                                                       "Recheck in two weeks.</div>"}}],
}
SCAN = {
    "resourceType": "DocumentReference", "id": "scan-1", "status": "current", "docStatus": "preliminary",
    "subject": {"reference": "Patient/pat-1"},
    "content": [{"attachment": {"contentType": "application/pdf", "url": "https://example.org/scan-1.pdf"}}],
}


def run_cli(*argv: str) -> int:
    args = cli.build_parser().parse_args(list(argv))
    return args.func(args)


def sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def chart(db):
    repo = Repository(Context.system("test"))
    repo.create({"resourceType": "Patient", "name": [{"family": "Okafor", "given": ["Ada"]}]}, logical_id="pat-1")
    repo.create({"resourceType": "Practitioner", "name": [{"family": "Who"}]}, logical_id="pr-1")
    repo.update("Composition", "note-1", NOTE)
    repo.update("DocumentReference", "scan-1", SCAN)


def physician(username: str = "doc", practitioner_id: str = "pr-1") -> Context:
    user = staff_user(username, "physician")
    user.profile.practitioner_id = practitioner_id
    user.profile.save(update_fields=["practitioner_id"])
    return context_for_user(user, "10.0.0.7")


def current(resource_type: str, logical_id: str) -> Resource:
    return Resource.objects.get(resource_type=resource_type, logical_id=logical_id)


def stored_version(signature: DocumentSignature) -> str:
    return ResourceHistory.objects.get(resource_type=signature.resource_type, logical_id=signature.logical_id,
                                       version_id=signature.version_id).content


def test_a_physician_signs_a_note(chart):
    doctor = physician()
    mark = last_id()
    signature = sign_document(doctor, "Composition", "note-1")

    note = Repository(doctor).read("Composition", "note-1")
    body = note.as_dict()
    assert note.version_id == 2 and signature.version_id == 2
    assert body["status"] == "final"
    [attester] = body["attester"]
    assert attester["mode"] == "legal"
    assert attester["party"] == {"reference": "Practitioner/pr-1", "display": "Doc"}
    assert attester["time"].startswith(str(signature.signed_at.year))
    assert body["section"] == NOTE["section"]  # the signed text is the text that was written
    # The digest is of the exact bytes the history keeps for that version (and serves on read).
    assert signature.sha256 == hashlib.sha256(stored_version(signature).encode("utf-8")).hexdigest()
    assert signature.sha256 == hashlib.sha256(note.content.encode("utf-8")).hexdigest()
    assert signature.signed_by.username == "doc" and signature.purpose == "legal"
    assert "Physician" in signature.role

    [update, sign] = since(mark)
    assert (update.action, update.references) == ("update", ["Composition/note-1"])
    assert (sign.action, sign.outcome, sign.actor_name, sign.patient_id) == ("sign", "success", "doc", "pat-1")
    assert '"version":2' in sign.detail and signature.sha256 in sign.detail


def test_a_nurse_is_refused_and_nothing_changes(chart):
    nurse = context_for_user(staff_user("nurse1", "nurse"))
    before = record_row_counts()
    mark = last_id()
    with pytest.raises(Forbidden) as refused:
        sign_document(nurse, "Composition", "note-1")
    assert refused.value.status == 403 and "notes.sign" in str(refused.value)
    assert record_row_counts() == before
    assert current("Composition", "note-1").version_id == 1
    assert DocumentSignature.objects.count() == 0
    assert [(e.action, e.outcome, e.actor_name) for e in since(mark)] == [("sign", "denied", "nurse1")]


def test_a_signed_version_is_not_signed_twice(chart):
    doctor = physician()
    sign_document(doctor, "Composition", "note-1")
    before = record_row_counts()
    with pytest.raises(Conflict) as twice:
        sign_document(physician("doc2", "pr-2"), "Composition", "note-1")
    assert twice.value.status == 409 and "already signed" in str(twice.value)
    assert record_row_counts() == before
    assert DocumentSignature.objects.count() == 1


def test_an_amended_note_is_signed_as_a_new_version(chart):
    doctor = physician()
    first = sign_document(doctor, "Composition", "note-1")
    repo = Repository(doctor)
    amended = {**repo.read("Composition", "note-1").as_dict(), "status": "amended", "title": "Follow-up (amended)"}
    repo.update("Composition", "note-1", amended)
    second = sign_document(doctor, "Composition", "note-1")
    assert (first.version_id, second.version_id) == (2, 4)
    body = repo.read("Composition", "note-1").as_dict()
    assert body["status"] == "amended" and len(body["attester"]) == 2
    assert selectors.verify_signatures() == []
    assert [s.version_id for s in selectors.signatures_of("Composition", "note-1")] == [2, 4]


def test_a_document_reference_is_authenticated(chart):
    signature = sign_document(physician(), "DocumentReference", "scan-1")
    body = Repository(Context.system()).read("DocumentReference", "scan-1").as_dict()
    assert body["docStatus"] == "final"
    assert body["authenticator"] == {"reference": "Practitioner/pr-1", "display": "Doc"}
    assert signature.sha256 == hashlib.sha256(stored_version(signature).encode()).hexdigest()


def test_a_signer_without_a_practitioner_record_is_named(chart):
    sign_document(physician("locum", practitioner_id=""), "Composition", "note-1")
    [attester] = Repository(Context.system()).read("Composition", "note-1").as_dict()["attester"]
    assert attester["party"] == {"display": "Locum"}


@pytest.mark.parametrize("resource_type, logical_id", [("Patient", "pat-1"), ("Observation", "x")])
def test_only_documents_can_be_signed(chart, resource_type, logical_id):
    before = record_row_counts()
    with pytest.raises(InvalidRequest) as refused:
        sign_document(physician(), resource_type, logical_id)
    assert "Composition and DocumentReference" in str(refused.value)
    assert record_row_counts() == before


def test_a_note_entered_in_error_is_not_signed(chart):
    Repository(Context.system()).update("Composition", "note-1", {**NOTE, "status": "entered-in-error"})
    before = record_row_counts()
    with pytest.raises(InvalidRequest):
        sign_document(physician(), "Composition", "note-1")
    assert record_row_counts() == before and DocumentSignature.objects.count() == 0


def test_a_missing_document_is_not_found(chart):
    with pytest.raises(NotFound) as missing:
        sign_document(physician(), "Composition", "nope")
    assert missing.value.status == 404 and "Composition/nope" in str(missing.value)
    assert DocumentSignature.objects.count() == 0


# -- mederi check ---------------------------------------------------------------------------------


def test_an_untouched_record_checks_clean(chart, capsys):
    doctor = physician()
    sign_document(doctor, "Composition", "note-1")
    sign_document(doctor, "DocumentReference", "scan-1")
    assert run_cli("check") == 0
    out = capsys.readouterr().out
    assert "record check: ok" in out
    assert "signature check: 2 signed documents verified" in out
    assert "PROBLEM" not in out


def test_an_empty_record_checks_clean(db, capsys):
    assert run_cli("check") == 0
    assert "signature check: 0 signed documents verified" in capsys.readouterr().out


def test_check_finds_a_signed_version_changed_in_the_database(chart, capsys):
    signature = sign_document(physician(), "Composition", "note-1")
    sign_document(physician("doc2", "pr-2"), "DocumentReference", "scan-1")
    tampered = stored_version(signature).replace("Recheck in two weeks.", "No follow-up needed.")
    sql("UPDATE fhir_resource_history SET content = %s WHERE resource_type = %s AND logical_id = %s "
        "AND version_id = %s", [tampered, "Composition", "note-1", signature.version_id])
    assert run_cli("check") == 1
    out = capsys.readouterr().out
    assert "PROBLEM: Composition/note-1 version 2: the stored content does not match its signature" in out
    assert "DocumentReference" not in out
    assert "signature check: 1 of 2 signed documents failed verification" in out
    assert "record check: ok" in out  # the table of current versions was left alone: only the digest shows it

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["check"])
    assert exit_info.value.code == 1


def test_check_finds_a_signed_version_removed_from_the_history(chart, capsys):
    signature = sign_document(physician(), "Composition", "note-1")
    sql("DELETE FROM fhir_resource_history WHERE resource_type = %s AND logical_id = %s AND version_id = %s",
        ["Composition", "note-1", signature.version_id])
    assert run_cli("check") == 1
    out = capsys.readouterr().out
    assert "PROBLEM: Composition/note-1 version 2: the signed version is missing from the history" in out
    assert "signature check: 1 of 1 signed document failed verification" in out


def test_a_whitespace_change_is_a_change(chart):
    signature = sign_document(physician(), "Composition", "note-1")
    sql("UPDATE fhir_resource_history SET content = %s WHERE resource_type = %s AND logical_id = %s "
        "AND version_id = %s", [stored_version(signature) + " ", "Composition", "note-1", signature.version_id])
    [problem] = selectors.verify_signatures()
    assert problem.startswith("Composition/note-1 version 2:")
    assert not AuditEntry.objects.filter(action="sign", outcome="denied").exists()
