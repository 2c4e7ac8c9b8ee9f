"""Prescribing through the services: drafts, the CDS cards that block signing, overrides, signing."""

import orjson
import pytest

from mederi.audit.models import AuditEntry
from mederi.clinical.cds.models import CardRecord
from mederi.clinical.prescribing import services
from mederi.clinical.prescribing.models import ErxMessage
from mederi.clinical.prescribing.tests.factories import make_chart, prescription
from mederi.conftest import record_row_counts
from mederi.core.errors import Forbidden, InvalidRequest
from mederi.fhir.repository import Repository

pytestmark = pytest.mark.django_db


@pytest.fixture
def chart(settings):
    settings.MEDERI_ERX_URL = "http://127.0.0.1:9/script"  # nothing listens: sending is tested elsewhere
    return make_chart()


def test_a_draft_is_a_complete_medication_request(chart):
    rx = prescription(pharmacy_id=chart["pharmacy"].id, refills=2, note="Take with food")
    draft = services.save_draft(chart["context"], "grace", rx, encounter_id="visit-1")
    assert draft["status"] == "draft"
    assert draft["medicationCodeableConcept"]["coding"][0]["code"] == "197806"
    dosage = draft["dosageInstruction"][0]
    assert dosage["text"] == "Take 1 tablet by mouth three times a day for 10 days."
    assert dosage["timing"]["repeat"] == {"frequency": 3, "period": 1, "periodUnit": "d"}
    assert dosage["route"]["coding"][0]["code"] == "26643006"
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 1
    dispense = draft["dispenseRequest"]
    assert (dispense["quantity"]["value"], dispense["numberOfRepeatsAllowed"]) == (30, 2)
    assert dispense["expectedSupplyDuration"]["value"] == 10
    assert dispense["performer"]["reference"] == f"Organization/{chart['pharmacy'].id}"
    assert draft["requester"]["reference"] == "Practitioner/dr-ruiz"
    assert draft["encounter"]["reference"] == "Encounter/visit-1"
    assert draft["note"][0]["text"] == "Take with food"


def test_selecting_a_drug_that_interacts_shows_the_cds_card(chart):
    cards = services.selection_cards(chart["context"], "grace", "197806", "visit-1")
    assert [c["summary"] for c in cards] == ["Major interaction: ibuprofen with warfarin"]
    assert cards[0]["indicator"] == "warning"


def test_a_warning_blocks_signing_until_overridden_with_a_reason(chart):
    rx = prescription(pharmacy_id=chart["pharmacy"].id)
    first = services.sign_prescription(chart["context"], "grace", rx, encounter_id="visit-1")
    assert not first.signed and first.request["status"] == "draft"
    assert [c["summary"] for c in first.cards] == ["Major interaction: ibuprofen with warfarin"]
    assert ErxMessage.objects.count() == 0
    card = first.cards[0]
    override = services.Override(services.SIGN_SERVICE, card["uuid"], "will-monitor", "INR checked in a week")
    second = services.sign_prescription(chart["context"], "grace", rx, encounter_id="visit-1",
                                        draft_id=first.request["id"], overrides=[override])
    assert second.signed and second.request["status"] == "active"
    assert second.request["id"] == first.request["id"]
    record = CardRecord.objects.get(uuid=card["uuid"])
    assert (record.status, record.override_code, record.override_comment) == (
        "overridden", "will-monitor", "INR checked in a week")
    feedback = AuditEntry.objects.filter(action="cds-feedback").get()
    assert orjson.loads(feedback.detail)["reason"] == "will-monitor"
    assert AuditEntry.objects.filter(action="sign", resource_type="MedicationRequest").exists()


def test_an_override_without_a_visit_still_lets_the_prescriber_sign(chart):
    rx = prescription()
    first = services.sign_prescription(chart["context"], "grace", rx)
    override = services.Override(services.SIGN_SERVICE, first.cards[0]["uuid"], "benefit-outweighs-risk")
    second = services.sign_prescription(chart["context"], "grace", rx, draft_id=first.request["id"],
                                        overrides=[override])
    assert second.signed


def test_an_allergy_is_critical_and_removing_the_drug_cancels_the_draft(chart):
    result = services.sign_prescription(chart["context"], "grace", prescription("308182"), encounter_id="visit-1")
    assert not result.signed
    assert result.cards[0]["indicator"] == "critical" and "penicillin" in result.cards[0]["summary"].lower()
    services.remove_drug(chart["context"], "grace", services.SIGN_SERVICE, result.cards[0]["uuid"],
                         result.request["id"])
    stored = Repository(chart["context"]).read("MedicationRequest", result.request["id"]).as_dict()
    assert stored["status"] == "cancelled"
    assert CardRecord.objects.get(uuid=result.cards[0]["uuid"]).status == "accepted"


def test_a_drug_without_alerts_is_signed_at_once_and_queued_for_the_pharmacy(chart):
    result = services.sign_prescription(chart["context"], "grace", prescription(
        "198440", pharmacy_id=chart["pharmacy"].id))  # acetaminophen
    assert result.signed and result.cards == []
    message = ErxMessage.objects.get()
    assert message.medication_request_id == result.request["id"]
    assert message.pharmacy_ncpdp == "1234567"


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"rxcui": "999999999"}, "rxcui", "Choose the drug"),
    ({"refills": 12}, "refills", "up to 11 refills"),
    ({"rxcui": "1049221", "refills": 1}, "refills", "Schedule II: no refills"),
    ({"pharmacy_id": "no-such-pharmacy"}, "pharmacy_id", "Choose a pharmacy"),
])
def test_bad_prescriptions_are_refused_at_the_field_and_nothing_is_written(chart, changes, field, words):
    before = record_row_counts()
    with pytest.raises(InvalidRequest) as caught:
        services.save_draft(chart["context"], "grace", prescription(**changes))
    assert any(i.expression == field and words in i.diagnostics for i in caught.value.issues)
    assert record_row_counts() == before


def test_a_controlled_substance_needs_the_prescribers_dea_number(db, settings):
    chart = make_chart(with_dea=False)
    with pytest.raises(InvalidRequest) as caught:
        services.save_draft(chart["context"], "grace", prescription("1049221"))
    assert "no DEA number" in str(caught.value)


def test_only_a_prescriber_may_sign(chart):
    from mederi.accounts.context import context_for_user
    from mederi.conftest import staff_user

    nurse = context_for_user(staff_user("nina", "nurse"))
    with pytest.raises(Forbidden):
        services.sign_prescription(nurse, "grace", prescription())
