"""CDS Hooks over HTTP, with the JSON a CDS client sends."""

import uuid

import orjson
import pytest

from mederi.audit.models import AuditEntry
from mederi.clinical.cds.models import CardRecord
from mederi.conftest import FhirClient, staff_user, token_for

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def med(code, display, resource_type="MedicationRequest", **extra):
    resource = {"resourceType": resource_type, "status": "active", "subject": {"reference": "Patient/pat-1"},
                "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code, "display": display}]}}
    if resource_type == "MedicationRequest":
        resource["intent"] = "order"
    return {**resource, **extra}


@pytest.fixture
def chart(fhir):
    fhir.put("/fhir/R4/Patient/pat-1", {"resourceType": "Patient", "id": "pat-1", "name": [{"family": "Ames"}]})
    fhir.create(med("855332", "warfarin sodium 5 MG Oral Tablet"))
    fhir.create(med("314076", "lisinopril 10 MG Oral Tablet", "MedicationStatement"))
    fhir.create({"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/pat-1"},
                 "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                                "code": "active"}]},
                 "code": {"coding": [{"system": "http://snomed.info/sct", "code": "764146007", "display": "Penicillin"}]}})
    return fhir


def hook(hook_name, drafts, *, selections=None, encounter="enc-1", prefetch=None):
    context = {"userId": "Practitioner/doc", "patientId": "pat-1", "encounterId": encounter,
               "draftOrders": {"resourceType": "Bundle", "type": "collection",
                               "entry": [{"resource": d} for d in drafts]}}
    if selections is not None:
        context["selections"] = selections
    body = {"hookInstance": str(uuid.uuid4()), "hook": hook_name, "context": context}
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def draft(rxcui, display, draft_id="draft-1"):
    return med(rxcui, display, id=draft_id, status="draft")


def call(client, service, body):
    return client.post(f"/cds-services/{service}", body, content_type="application/json")


@pytest.fixture
def cds(chart):
    return FhirClient(chart.token)


def cards_of(response):
    assert response.status_code == 200, response.content
    return response.json()["cards"]


def test_discovery_lists_the_services_with_prefetch_templates(client):
    services = {s["id"]: s for s in client.get("/cds-services").json()["services"]}
    assert {"drug-order-select", "drug-order-sign", "patient-view"} <= set(services)
    assert services["drug-order-sign"]["hook"] == "order-sign"
    assert services["drug-order-sign"]["prefetch"]["medications"] == \
        "MedicationRequest?patient={{context.patientId}}&status=active"


def test_order_sign_warns_of_an_interaction_with_a_drug_on_the_record(cds):
    cards = cards_of(call(cds, "drug-order-sign", hook("order-sign", [draft("310965", "ibuprofen 200 MG Oral Tablet")])))
    assert len(cards) == 1
    card = cards[0]
    assert card["summary"] == "Major interaction: ibuprofen with warfarin"
    assert card["indicator"] == "warning"
    assert "**Why:**" in card["detail"] and "**What to do:**" in card["detail"] and "acetaminophen" in card["detail"]
    assert card["source"]["label"] == "Mederi drug knowledge base"
    action = card["suggestions"][0]["actions"][0]
    assert (action["type"], action["resourceId"]) == ("delete", ["MedicationRequest/draft-1"])
    assert {r["code"] for r in card["overrideReasons"]} >= {"benefit-outweighs-risk", "will-monitor"}


def test_allergy_cross_reactivity_and_the_fetches_are_audited(cds):
    mark = AuditEntry.objects.count()
    cards = cards_of(call(cds, "drug-order-sign", hook("order-sign", [draft("309114", "cephalexin 500 MG Oral Capsule")])))
    assert [(c["indicator"], c["summary"]) for c in cards] == [
        ("info", "Possible cross-reaction: cephalexin in a patient allergic to Penicillin")]
    searched = AuditEntry.objects.filter(id__gt=mark, action="search", patient_id="pat-1")
    assert set(searched.values_list("resource_type", flat=True)) == {
        "MedicationRequest", "MedicationStatement", "AllergyIntolerance"}


def test_prefetch_is_used_when_sent(cds):
    prefetch = {"patient": {"resourceType": "Patient", "id": "pat-1"},
                "medications": {"resourceType": "Bundle", "type": "searchset", "entry": [
                    {"resource": {**med("36567", "simvastatin"), "id": "m1"}}]},
                "statements": {"resourceType": "Bundle", "type": "searchset", "entry": []},
                "allergies": {"resourceType": "Bundle", "type": "searchset", "entry": []}}
    mark = AuditEntry.objects.count()
    cards = cards_of(call(cds, "drug-order-sign", hook("order-sign", [draft("21212", "clarithromycin")],
                                                       prefetch=prefetch)))
    assert [c["indicator"] for c in cards] == ["critical"]
    assert not AuditEntry.objects.filter(id__gt=mark, action="search").exists()  # nothing read here


def test_order_select_checks_only_the_selected_draft_against_the_others(cds):
    drafts = [draft("4917", "nitroglycerin", "draft-a"), draft("136411", "sildenafil", "draft-b")]
    body = hook("order-select", drafts, selections=["MedicationRequest/draft-b"])
    cards = cards_of(call(cds, "drug-order-select", body))
    assert [c["summary"] for c in cards] == ["Contraindicated interaction: sildenafil with nitroglycerin"]
    assert cards[0]["suggestions"][0]["actions"][0]["resourceId"] == ["MedicationRequest/draft-b"]
    # Selecting again in the same visit does not repeat the card.
    assert cards_of(call(cds, "drug-order-select", hook("order-select", drafts, selections=["MedicationRequest/draft-b"]))) == []


def test_no_card_for_a_safe_order(cds):
    assert cards_of(call(cds, "drug-order-sign", hook("order-sign", [draft("313782", "acetaminophen 325 MG")]))) == []


def test_an_overridden_card_needs_a_reason_is_audited_and_is_not_repeated_in_the_visit(cds):
    body = hook("order-sign", [draft("310965", "ibuprofen 200 MG Oral Tablet")])
    card = cards_of(call(cds, "drug-order-sign", body))[0]
    no_reason = {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-01-01T10:00:00Z"}]}
    response = call(cds, "drug-order-sign/feedback", no_reason)
    assert response.status_code == 400
    assert "overriding a card needs a reason" in response.json()["error"]
    assert CardRecord.objects.get(uuid=card["uuid"]).status == "shown"

    feedback = {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-01-01T10:00:00Z",
                              "overrideReason": {"reason": {"system": "urn:mederi:cds-override-reason",
                                                            "code": "will-monitor"},
                                                 "userComment": "INR check booked for Friday"}}]}
    assert call(cds, "drug-order-sign/feedback", feedback).json() == {"recorded": 1}
    entry = AuditEntry.objects.filter(action="cds-feedback").get()
    detail = orjson.loads(entry.detail)
    assert (entry.patient_id, detail["outcome"], detail["reason"], detail["comment"]) == (
        "pat-1", "overridden", "will-monitor", "INR check booked for Friday")
    assert cards_of(call(cds, "drug-order-sign", hook("order-sign", [draft("310965", "ibuprofen")]))) == []
    # Another visit shows it again.
    assert len(cards_of(call(cds, "drug-order-sign", hook("order-sign", [draft("310965", "ibuprofen")],
                                                          encounter="enc-2")))) == 1


def test_patient_view_lists_problems_in_the_current_medications(cds, chart):
    chart.create(med("5640", "ibuprofen"))
    body = {"hookInstance": str(uuid.uuid4()), "hook": "patient-view",
            "context": {"userId": "Practitioner/doc", "patientId": "pat-1"}}
    cards = cards_of(call(cds, "patient-view", body))
    assert [c["summary"] for c in cards] == ["Major interaction: ibuprofen with warfarin"]


def test_a_client_without_a_token_is_refused(chart):
    response = call(FhirClient().client, "drug-order-sign", hook("order-sign", [draft("310965", "ibuprofen")]))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_user_who_may_not_read_clinical_data_is_refused(chart):
    front_desk = FhirClient(token_for(staff_user("desk", permissions=["demographics.read"])))
    response = call(front_desk, "drug-order-sign", hook("order-sign", [draft("310965", "ibuprofen")]))
    assert response.status_code == 403
    assert not CardRecord.objects.exists()


@pytest.mark.parametrize("service, body, status, message", [
    ("no-such-service", {"hook": "order-sign"}, 404, "there is no CDS service 'no-such-service'"),
    ("drug-order-sign", b"{not json", 400, "the body is not valid JSON"),
    ("drug-order-sign", {"hookInstance": "x", "context": {"patientId": "pat-1"}}, 400, "hook is required"),
    ("drug-order-sign", {"hookInstance": "x", "hook": "patient-view", "context": {"patientId": "pat-1"}}, 400,
     "answers the order-sign hook, not patient-view"),
    ("drug-order-sign", {"hookInstance": "x", "hook": "order-sign", "context": {"patientId": "pat-1"}}, 400,
     "context.draftOrders must be a Bundle"),
    ("drug-order-sign", {"hookInstance": "x", "hook": "order-sign", "context": {}}, 400, "context.patientId is required"),
])
def test_bad_requests_get_a_clear_message(cds, service, body, status, message):
    response = call(cds, service, body)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert not CardRecord.objects.exists()
