"""E-prescribing: the NewRx as the stand-in network receives it over HTTP, its answer recorded on the
prescription, retries when the network is down without sending twice, refusals, and cancelling."""

import socket

import pytest
import requests

from mederi.clinical.prescribing import delivery, script, services
from mederi.clinical.prescribing.models import ErxMessage
from mederi.clinical.prescribing.standin import StandIn
from mederi.clinical.prescribing.tests.factories import make_chart, prescription
from mederi.conftest import FrozenClock
from mederi.fhir.repository import Repository

pytestmark = pytest.mark.django_db


@pytest.fixture
def network():
    with StandIn() as standin:
        yield standin


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/script"


def sign(chart, capture, **changes):
    with capture(execute=True):
        result = services.sign_prescription(chart["context"], "grace", prescription(
            "198440", pharmacy_id=chart["pharmacy"].id, **changes))
    assert result.signed
    return result.request


def stored(chart, request_id):
    return Repository(chart["context"]).read("MedicationRequest", request_id).as_dict()


def test_signing_sends_a_new_rx_that_the_network_accepts(settings, network, django_capture_on_commit_callbacks):
    settings.MEDERI_ERX_URL = network.url
    chart = make_chart()
    request = sign(chart, django_capture_on_commit_callbacks, refills=3, note="Blister pack please",
                   substitution_allowed=False)
    assert len(network.received) == 1
    message = script.parse(network.received[0]).find("Body/NewRx")
    assert message.findtext("Pharmacy/Identification/NCPDPID") == "1234567"
    assert message.findtext("Patient/HumanPatient/Name/LastName") == "Okonkwo"
    assert message.findtext("Patient/HumanPatient/DateOfBirth/Date") == "1951-07-02"
    assert message.findtext("Prescriber/NonVeterinarian/Identification/NPI") == "1234567893"
    assert message.findtext("Prescriber/NonVeterinarian/Identification/DEANumber") == "BR1234563"
    med = message.find("MedicationPrescribed")
    assert med.findtext("DrugCoded/DrugDBCode/Code") == "198440"
    assert med.findtext("Quantity/Value") == "30"
    assert med.findtext("Refills/Value") == "3"
    assert med.findtext("Substitutions") == "1"
    assert med.findtext("Note") == "Blister pack please"
    assert med.findtext("Sig/SigText") == "Take 1 tablet by mouth three times a day for 10 days."
    assert delivery.status_of(stored(chart, request["id"]))["status"] == "accepted"
    assert ErxMessage.objects.get().state == ErxMessage.ACCEPTED


def test_a_network_that_is_down_is_tried_again_and_the_message_goes_once(
        settings, network, monkeypatch, django_capture_on_commit_callbacks):
    from datetime import datetime, timezone

    frozen = FrozenClock.install(monkeypatch, datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc))
    settings.MEDERI_ERX_URL = closed_port_url()
    chart = make_chart()
    request = sign(chart, django_capture_on_commit_callbacks)
    message = ErxMessage.objects.get()
    assert (message.state, message.attempts) == (ErxMessage.QUEUED, 1)
    status = delivery.status_of(stored(chart, request["id"]))
    assert status["status"] == "queued" and "could not be reached" in status["detail"]
    settings.MEDERI_ERX_URL = network.url
    assert delivery.retry_due() == 0  # not yet time
    frozen.advance(minutes=2)
    assert delivery.retry_due() == 1
    assert delivery.deliver(message.pk) == ErxMessage.ACCEPTED  # a second run does not send again
    assert len(network.received) == 1
    assert delivery.status_of(stored(chart, request["id"]))["status"] == "accepted"


def test_a_refusal_is_recorded_with_the_networks_reason(settings, django_capture_on_commit_callbacks):
    with StandIn(known_pharmacies={"7654321"}) as network:
        settings.MEDERI_ERX_URL = network.url
        chart = make_chart()
        request = sign(chart, django_capture_on_commit_callbacks)
    status = delivery.status_of(stored(chart, request["id"]))
    assert status["status"] == "error"
    assert "no pharmacy with NCPDPID 1234567" in status["detail"]
    assert ErxMessage.objects.get().state == ErxMessage.ERROR


def test_cancelling_a_sent_prescription_sends_a_cancel_rx(settings, network, django_capture_on_commit_callbacks):
    settings.MEDERI_ERX_URL = network.url
    chart = make_chart()
    request = sign(chart, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_prescription(chart["context"], request["id"], "Patient prefers another drug")
    assert [script.parse(m).find("Body")[0].tag for m in network.received] == ["NewRx", "CancelRx"]
    after = stored(chart, request["id"])
    assert after["status"] == "cancelled"
    assert delivery.status_of(after)["detail"] == "CancelRx: CancelRx cancelled at the pharmacy"


def test_the_stand_in_refuses_what_a_network_would(network):
    assert requests.post(network.url, data=b"<x/>", headers={"Content-Type": "text/plain"}).status_code == 415
    answer = script.read_answer(requests.post(network.url, data=b"not xml",
                                              headers={"Content-Type": "application/xml"}).content)
    assert not answer.accepted and "not XML" in answer.description
    bad = (b'<Message><Header><To>1234567</To><From>p</From><MessageID>m1</MessageID><SentTime>t</SentTime>'
           b'<PrescriberOrderNumber>o1</PrescriberOrderNumber></Header><Body><NewRx>'
           b'<Prescriber><NonVeterinarian><Identification><NPI>1234567890</NPI></Identification></NonVeterinarian>'
           b'</Prescriber></NewRx></Body></Message>')
    answer = script.read_answer(requests.post(network.url, data=bad, headers={"Content-Type": "application/xml"}).content)
    assert not answer.accepted and answer.relates_to == "m1"
    assert "fails its check digit" in answer.description and "the drug is missing" in answer.description
