"""Results arriving as ORU^R01: stored all or nothing, acknowledged, refused ones kept and replayed."""

from __future__ import annotations

import pytest

from mederi.audit.models import AuditEntry
from mederi.conftest import record_row_counts, shared_data, staff_user
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository
from mederi.interop import inbound
from mederi.interop.hl7 import parse
from mederi.interop.models import DeadLetter
from mederi.interop.tests.factories import CHOLESTEROL, COMMENT, HDL, oru, register_patient

pytestmark = pytest.mark.django_db


def answer(raw: bytes) -> tuple[str, str, str]:
    """(MSA-1, MSA-2, ERR-2 location as SEG-field) of the reply to `raw`."""
    reply = parse(inbound.receive(raw))
    err = reply.first("ERR")
    location = f"{err.value(2, 1)}-{err.value(2, 3)}" if err and err.value(2, 1) else ""
    return reply.first("MSA").value(1), reply.first("MSA").value(2), location


def search(resource_type: str, *params) -> list[dict]:
    found = Repository(Context.system("test")).search(resource_type, list(params), first_page_only=True)
    return [m.as_dict() for m in found.matches]


def test_a_result_is_stored_with_values_flags_ranges_and_its_specimen():
    patient_id = register_patient("MRN1001")

    assert answer(oru(CHOLESTEROL, HDL, COMMENT)) == ("AA", "RES1", "")

    (report,) = search("DiagnosticReport", ("subject", f"Patient/{patient_id}"))
    assert report["status"] == "final" and report["code"]["coding"][0] == {
        "system": systems.LOINC, "code": "24331-1", "display": "Lipid panel"}
    assert report["effectiveDateTime"] == "2026-01-05T08:00:00-06:00"
    assert report["issued"] == "2026-01-05T14:00:00-06:00"
    observations = {o["code"]["coding"][0]["code"]: o for o in search("Observation", ("subject", f"Patient/{patient_id}"))}
    assert len(report["result"]) == 3 == len(observations)
    cholesterol = observations["2093-3"]
    assert cholesterol["valueQuantity"] == {"value": 245, "unit": "mg/dL", "system": systems.UCUM, "code": "mg/dL"}
    assert cholesterol["interpretation"][0]["coding"][0]["code"] == "H"
    assert cholesterol["referenceRange"][0]["high"]["value"] == 200 and cholesterol["status"] == "final"
    assert observations["2085-9"]["interpretation"][0]["coding"][0]["display"] == "Normal"
    assert observations["8251-1"]["valueString"] == "Fasting & rested\nsecond line"
    (specimen,) = search("Specimen", ("subject", f"Patient/{patient_id}"))
    assert specimen["type"]["coding"][0]["code"] == "SER" and specimen["receivedTime"] == "2026-01-05T09:00:00-06:00"


def test_the_same_message_sent_twice_is_stored_once():
    register_patient("MRN1001")
    answer(oru(CHOLESTEROL))
    before = record_row_counts()
    assert answer(oru(CHOLESTEROL))[0] == "AA"
    assert record_row_counts() == before


def test_a_corrected_result_replaces_the_preliminary_one():
    patient_id = register_patient("MRN1001")
    answer(oru(CHOLESTEROL.replace("|||F", "|||P"), status="P"))
    answer(oru(CHOLESTEROL.replace("||245|", "||198|").replace("|H|", "|N|").replace("|||F", "|||C"), status="C"))
    (observation,) = search("Observation", ("subject", f"Patient/{patient_id}"))
    assert observation["valueQuantity"]["value"] == 198 and observation["status"] == "corrected"
    assert observation["meta"]["versionId"] == "2"


def test_a_result_is_linked_to_the_order_by_placer_number_and_completes_it():
    patient_id = register_patient("MRN1001")
    order = Repository(Context.system("test")).create({
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "identifier": [{"system": systems.PLACER_ORDER, "value": "ORD-77"}],
        "code": {"coding": [{"system": systems.LOINC, "code": "24331-1"}]},
        "subject": {"reference": f"Patient/{patient_id}"}}).stored

    assert answer(oru(CHOLESTEROL, placer="ORD-77"))[0] == "AA"

    (report,) = search("DiagnosticReport", ("based-on", f"ServiceRequest/{order.logical_id}"))
    assert report["subject"]["reference"] == f"Patient/{patient_id}"
    assert Repository(Context.system("test")).read("ServiceRequest", order.logical_id).as_dict()["status"] == "completed"


@pytest.mark.parametrize("raw, location, words", [
    (oru(CHOLESTEROL, mrn="NOBODY"), "PID-3", "no patient has the medical record number NOBODY"),
    (oru(CHOLESTEROL, HDL.replace("||52|", "||fifty-two|")), "OBX-5", "'fifty-two' is not a number"),
    (oru(CHOLESTEROL.replace("|||F", "|||Q")), "OBX-11", "'Q' is not a result status"),
    (oru(CHOLESTEROL, code=""), "OBR-4", "what was tested) is missing"),
    (oru(CHOLESTEROL).replace(b"20260105080000-0600|||", b"2026-01-05|||", 1), "OBR-7", "not an HL7 date/time"),
])
def test_a_bad_message_is_refused_with_the_reason_kept_and_nothing_stored(raw, location, words):
    register_patient("MRN1001")
    before = record_row_counts()

    code, control_id, where = answer(raw)

    assert (code, control_id, where) == ("AE", "RES1", location)
    assert record_row_counts() == before
    (letter,) = DeadLetter.objects.all()
    assert letter.location == location and words in letter.error and letter.content == raw.decode()
    assert letter.message_type == "ORU^R01" and letter.sender == "LABSYS^ACME LAB"


def test_unreadable_and_unsupported_messages_are_rejected():
    assert answer(b"this is not HL7")[0] == "AR"
    adt = b"MSH|^~\\&|ADT|H|MEDERI|R|20260105||ADT^A04|A1|P|2.5.1\rPID|1||X^^^^MR\r"
    reply = parse(inbound.receive(adt))
    assert reply.first("MSA").value(1) == "AR" and reply.first("ERR").value(3, 1) == "200"
    assert "not ADT^A04" in reply.first("ERR").value(8)
    assert DeadLetter.objects.count() == 2


def test_a_refused_message_is_replayed_after_the_patient_is_registered():
    assert answer(oru(CHOLESTEROL, mrn="MRN2002"))[0] == "AE"
    letter = DeadLetter.objects.get()
    admin = staff_user("admin", "practice_admin")
    context = Context(user_id=admin.pk, permissions=frozenset({"interfaces.manage"}), user_name="admin")

    with pytest.raises(inbound.ReplayFailed, match="MRN2002"):
        inbound.replay(context, letter.pk)
    patient_id = register_patient("MRN2002")
    (reference,) = inbound.replay(context, letter.pk)

    letter.refresh_from_db()
    assert letter.state == DeadLetter.REPLAYED and letter.resolved_by == admin and letter.attempts == 3
    assert Repository(Context.system("test")).read(*reference.split("/")).as_dict()["subject"]["reference"] == \
        f"Patient/{patient_id}"
    assert list(AuditEntry.objects.filter(action="message-replay").values_list("outcome", flat=True).order_by("id")) == [
        "error", "success"]
    with pytest.raises(inbound.Conflict):
        inbound.replay(context, letter.pk)


def test_only_those_who_manage_interfaces_replay():
    answer(oru(CHOLESTEROL, mrn="MRN2002"))
    with pytest.raises(inbound.Forbidden):
        inbound.replay(Context(user_id=1, permissions=frozenset({"clinical.write"})), DeadLetter.objects.get().pk)


@pytest.mark.dataset
def test_every_shared_result_message_is_stored_for_its_registered_patient():
    files = sorted(shared_data("hl7v2").glob("*.hl7"))
    results = [p for p in files if parse(p.read_bytes()).message_type == ("ORU", "R01")]
    assert len(results) >= 2
    for path in results:
        message = parse(path.read_bytes())
        mrn = message.first("PID").value(3)
        patient_id = register_patient(mrn, family=path.stem)

        reply = parse(inbound.receive(path.read_bytes()))

        assert reply.first("MSA").value(1) == "AA", (path.name, reply.first("ERR"))
        reports = search("DiagnosticReport", ("subject", f"Patient/{patient_id}"))
        assert len(reports) == len(message.all("OBR")), path.name
        assert search("Observation", ("subject", f"Patient/{patient_id}")), path.name


@pytest.mark.dataset
def test_the_shared_lab_result_keeps_its_time_zone_pending_values_and_specimen():
    raw = shared_data("hl7v2", "LAB-ORU-1.hl7").read_bytes()
    patient_id = register_patient("10006579")
    assert answer(raw)[0] == "AA"
    reports = {r["code"]["coding"][0]["code"]: r for r in search("DiagnosticReport", ("subject", f"Patient/{patient_id}"))}
    assert reports["24317-0"]["issued"] == "2014-10-06T06:45:00+07:00"  # MSH-7: OBR-22 is empty
    observations = {o["code"]["coding"][0]["code"]: o for o in search("Observation", ("subject", f"Patient/{patient_id}"))}
    assert observations["11156-7"]["status"] == "registered" and "valueQuantity" not in observations["11156-7"]
    assert observations["11273-0"]["status"] == "preliminary"
    assert observations["11125-2"]["valueQuantity"]["value"] == 221
    assert observations["11125-2"]["effectiveDateTime"] == "2014-10-06T08:30:00+07:00"
    assert len(search("Specimen", ("subject", f"Patient/{patient_id}"))) == 2
