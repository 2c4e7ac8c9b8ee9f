"""Lab orders: ServiceRequests written, the ORM sent over MLLP once, the lab's answer recorded."""

from __future__ import annotations

import pytest

from mederi.accounts.models import Profile
from mederi.conftest import record_row_counts, shared_data, staff_user
from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import Forbidden, InvalidRequest
from mederi.fhir.repository import Repository
from mederi.interop import orders
from mederi.interop.hl7 import parse
from mederi.interop.mllp import MllpServer, ServerThread
from mederi.interop.models import LabConnection, OutboundOrder
from mederi.interop.standin import StandinLab
from mederi.interop.tests.factories import register_patient


@pytest.fixture
def doctor(transactional_db):
    practitioner = Repository(Context.system("test")).create({
        "resourceType": "Practitioner", "name": [{"family": "Ruiz", "given": ["Ana"]}]}).stored.logical_id
    user = staff_user("ruiz", "physician")
    Profile.objects.filter(user=user).update(practitioner_id=practitioner, full_name="Ana Ruiz")
    return Context(user_id=user.pk, permissions=frozenset({"orders.sign", "clinical.write", "clinical.read",
                                                            "demographics.read"}), user_name="ruiz"), practitioner


@pytest.fixture
def lab_server():
    lab = StandinLab()
    with ServerThread(MllpServer(lab.handle, lab.refuse, port=0)) as running:
        yield lab, running


def connection(port: int, **fields) -> LabConnection:
    return LabConnection.objects.create(**{"name": "Acme Lab", "host": "127.0.0.1", "port": port,
                                           "sending_facility": "RIVERSIDE", "receiving_facility": "ACME", **fields})


def test_an_order_is_written_and_sent_once_and_the_lab_accepts_it(doctor, lab_server):
    context, practitioner = doctor
    lab, running = lab_server
    patient_id = register_patient("MRN1001")

    order = orders.place_lab_order(context, patient_id, ["24331-1", "4548-4"], connection(running.port).pk,
                                   note="Fasting since midnight")

    order.refresh_from_db()
    assert order.state == OutboundOrder.ACCEPTED and order.attempts == 1 and order.sent_at
    (received,) = lab.received
    assert received.first("PID").value(3) == "MRN1001"
    assert [obr.value(4) for obr in received.all("OBR")] == ["24331-1", "4548-4"]
    requests = [Repository(context).read("ServiceRequest", i).as_dict() for i in order.service_request_ids]
    assert {r["requester"]["reference"] for r in requests} == {f"Practitioner/{practitioner}"}
    placers = [r["identifier"][0] for r in requests]
    assert all(p["system"] == systems.PLACER_ORDER for p in placers)
    assert [orc.value(2) for orc in received.all("ORC")] == [p["value"] for p in placers]
    assert orders.deliver(order.pk) == OutboundOrder.ACCEPTED and len(lab.received) == 1  # never twice


def test_an_unreachable_lab_is_tried_again_and_the_order_goes_out_once(doctor):
    context, _ = doctor
    patient_id = register_patient("MRN1001")
    lab = StandinLab()
    server = MllpServer(lab.handle, lab.refuse, port=0)
    with ServerThread(server):
        port = server.port
    lab_connection = connection(port)  # nobody listens there now

    order = orders.place_lab_order(context, patient_id, ["3016-3"], lab_connection.pk)

    order.refresh_from_db()
    assert order.state == OutboundOrder.QUEUED and order.attempts == 1 and "could not connect" in order.last_error
    assert order.next_attempt is not None
    with ServerThread(MllpServer(lab.handle, lab.refuse, host="127.0.0.1", port=port)):
        assert orders.deliver(order.pk) == OutboundOrder.ACCEPTED
        assert orders.deliver(order.pk) == OutboundOrder.ACCEPTED
    assert len(lab.received) == 1


def test_a_refusal_keeps_the_labs_reason(doctor, lab_server):
    context, _ = doctor
    lab, running = lab_server
    patient_id = register_patient("MRN1001")
    lab._check = lambda message: (_ for _ in ()).throw(
        orders.HL7Error("unknown test code for this lab", segment="OBR", field=4, code="103"))

    order = orders.place_lab_order(context, patient_id, ["3016-3"], connection(running.port).pk)

    order.refresh_from_db()
    assert order.state == OutboundOrder.REFUSED and "OBR-4: unknown test code for this lab" in order.last_error


@pytest.mark.parametrize("change, error, words", [
    ({"tests": []}, InvalidRequest, "choose at least one test"),
    ({"tests": ["9999-9"]}, InvalidRequest, "unknown tests: 9999-9"),
    ({"priority": "whenever"}, InvalidRequest, "priority must be one of"),
    ({"lab": "off"}, InvalidRequest, "choose a lab that is set up"),
    ({"permissions": frozenset({"clinical.write"})}, Forbidden, "orders.sign"),
])
def test_a_bad_order_says_why_and_writes_nothing(doctor, change, error, words):
    context, _ = doctor
    patient_id = register_patient("MRN1001")
    lab = connection(1, active=change.get("lab") != "off")
    if "permissions" in change:
        context = Context(user_id=context.user_id, permissions=change["permissions"])
    before = record_row_counts()
    with pytest.raises(error, match=words):
        orders.place_lab_order(context, patient_id, change.get("tests", ["3016-3"]), lab.pk,
                               priority=change.get("priority", "routine"))
    assert record_row_counts() == before and not OutboundOrder.objects.exists()


def test_the_stand_in_result_comes_back_to_the_order(doctor):
    context, _ = doctor
    patient_id = register_patient("MRN1001")
    lab = LabConnection.objects.create(name="Stand-in", transport=LabConnection.STANDIN, sending_facility="R",
                                       receiving_facility="STANDIN")

    order = orders.place_lab_order(context, patient_id, ["24331-1"], lab.pk)

    (request_id,) = order.service_request_ids
    found = Repository(context).search("DiagnosticReport", [("based-on", f"ServiceRequest/{request_id}")],
                                       first_page_only=True).matches
    (report,) = [m.as_dict() for m in found]
    assert report["status"] == "final" and len(report["result"]) == 4
    assert Repository(context).read("ServiceRequest", request_id).as_dict()["status"] == "completed"


@pytest.mark.dataset
def test_the_stand_in_lab_accepts_every_shared_order_message(db):
    lab = StandinLab()
    files = [p for p in sorted(shared_data("hl7v2").glob("*.hl7")) if parse(p.read_bytes()).message_type[0] == "ORM"]
    assert len(files) >= 2
    for path in files:
        reply = parse(lab.handle(path.read_bytes()))
        assert reply.first("MSA").value(1) == "AA", (path.name, reply.first("ERR"))
    assert len(lab.received) == len(files)
