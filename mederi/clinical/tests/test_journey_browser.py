"""The physician's visit from start to finish in a real browser, through the pages only.

Dr Adeyemi opens the day's first patient from the queue, documents from the adult template
(answers, vital signs), reconciles the medication list, orders a PT/INR that goes to the lab as an
ORM^O01 over MLLP, receives the lab's ORU^R01 over MLLP at the practice's listener and reviews it
from the results inbox, prescribes ibuprofen to a patient on warfarin, overrides the interaction
alert with a reason, and signs the note. Only the day's schedule and the patient's record are set
up directly; the lab is the stand-in lab behind a real MLLP socket.
"""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from mederi.conftest import needs_chromium, sign_in_browser, staff_user
from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

pytestmark = needs_chromium

PRACTITIONER = "dr-adeyemi"
PATIENT, OTHER_PATIENT = "pat-journey", "pat-later"
MEDICATIONS = {"warfarin": ("855332", "warfarin sodium 5 MG Oral Tablet", "1 tablet daily"),
               "simvastatin": ("198211", "simvastatin 40 MG Oral Tablet", "1 tablet at bedtime")}


def _instant(moment) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _todays_schedule(repo: Repository) -> None:
    """Two patients checked in for today; Maria Lopez has waited longest."""
    repo.update("Location", "clinic", {"resourceType": "Location", "id": "clinic", "name": "Main clinic"})
    repo.update("Practitioner", PRACTITIONER, {
        "resourceType": "Practitioner", "id": PRACTITIONER, "active": True,
        "name": [{"family": "Adeyemi", "given": ["Nia"], "prefix": ["Dr."]}],
        "identifier": [{"system": systems.NPI, "value": "1234567893"}]})
    for patient_id, family, given, mrn in ((PATIENT, "Lopez", "Maria", "MRN-J100"),
                                           (OTHER_PATIENT, "Brennan", "Tom", "MRN-J200")):
        repo.update("Patient", patient_id, {
            "resourceType": "Patient", "id": patient_id, "active": True, "gender": "female",
            "name": [{"use": "official", "family": family, "given": [given]}], "birthDate": "1956-04-11",
            "identifier": [{"system": systems.mrn_system(), "value": mrn}]})
    start = clock.now()
    for appointment_id, patient_id in (("appt-first", PATIENT), ("appt-second", OTHER_PATIENT)):
        repo.update("Appointment", appointment_id, {  # written in this order: the first has waited longest
            "resourceType": "Appointment", "id": appointment_id, "status": "checked-in",
            "start": _instant(start), "end": _instant(start + timedelta(minutes=20)),
            "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"},
                            {"actor": {"reference": f"Practitioner/{PRACTITIONER}"}, "status": "accepted"},
                            {"actor": {"reference": "Location/clinic"}, "status": "accepted"}]})
    for key, (rxcui, name, dosage) in MEDICATIONS.items():
        repo.update("MedicationStatement", f"{PATIENT}-{key}", {
            "resourceType": "MedicationStatement", "id": f"{PATIENT}-{key}", "status": "active",
            "medicationCodeableConcept": {"coding": [{"system": systems.RXNORM, "code": rxcui, "display": name}],
                                          "text": name},
            "subject": {"reference": f"Patient/{PATIENT}"}, "dosage": [{"text": dosage}]})


@pytest.fixture
def stand_in_lab(transactional_db):
    """The stand-in lab listening on a free port, and the practice's connection to it."""
    from mederi.interop.mllp import MllpServer, ServerThread
    from mederi.interop.models import LabConnection
    from mederi.interop.standin import StandinLab

    lab = StandinLab()
    with ServerThread(MllpServer(lab.handle, lab.refuse, port=0)) as running:
        LabConnection.objects.create(name="Valley Reference Lab", transport=LabConnection.MLLP, host="127.0.0.1",
                                     port=running.port, sending_facility="RIVERSIDE", receiving_application="VRLAB",
                                     receiving_facility="VALLEY LAB", timeout_seconds=10)
        yield lab


@pytest.fixture
def results_listener(transactional_db):
    """The practice's `mederi mllp-listen`, on a free port."""
    from mederi.interop import listener
    from mederi.interop.mllp import ServerThread

    with ServerThread(listener.build_server("127.0.0.1", 0)) as running:
        yield running


@pytest.fixture
def physician_page(live_server, page, transactional_db):
    _todays_schedule(Repository(Context.system("test")))
    user = staff_user("dradeyemi", "physician")
    user.profile.practitioner_id = PRACTITIONER
    user.profile.full_name = "Nia Adeyemi"
    user.profile.save(update_fields=["practitioner_id", "full_name"])
    errors = sign_in_browser(page, live_server, user)
    # A long journey on a machine shared with other work: wait patiently, assert only what is seen.
    page.set_default_timeout(60_000)
    page.set_default_navigation_timeout(120_000)
    yield page
    assert errors == []


def _send_results(lab, listener_port: int) -> str:
    """The lab answers the order it received with an ORU^R01, over MLLP to the practice's listener."""
    from mederi.interop.hl7 import parse
    from mederi.interop.hl7.ack import parse_acknowledgement
    from mederi.interop.mllp import MllpClient
    from mederi.interop.models import OutboundOrder

    order = OutboundOrder.objects.get()
    assert [m.header.value(10) for m in lab.received] == [order.control_id]  # the lab holds exactly our ORM
    with MllpClient("127.0.0.1", listener_port, timeout=20) as client:
        answer = client.send(lab.result_for(order.content))
    return parse_acknowledgement(parse(answer))[0]


def test_a_physician_sees_the_first_patient_of_the_day_from_queue_to_signed_note(
        live_server, physician_page, stand_in_lab, results_listener):
    from django.contrib.auth import get_user_model

    from mederi.accounts.context import context_for_user
    from mederi.audit.models import AuditEntry
    from mederi.clinical.notes import services as notes
    from mederi.core.errors import MederiError

    page = physician_page
    page.goto(f"{live_server.url}/clinical/queue/")
    first = page.locator("table.queue tbody tr").first
    assert "Maria Lopez" in first.inner_text()
    first.get_by_role("button", name="Start the visit of Maria Lopez").click()
    page.wait_for_url("**/clinical/visits/**")
    visit_url = page.url
    encounter_id = visit_url.rstrip("/").split("/")[-1]
    assert "Visit in-progress" in page.inner_text("main")

    # Documents from a template: answers, then vital signs in the visit's own panel.
    page.select_option("#template-choice", label="Adult / family medicine visit")
    page.click("text=Use this template")
    page.get_by_label("Chief complaint").fill("Bruising on both arms")
    page.get_by_label("History of present illness").fill("Easy bruising for a week; on warfarin for atrial fibrillation.")
    page.wait_for_selector("#autosave:has-text('Draft saved')")
    page.click("#entries-vitals summary")
    page.wait_for_selector("#id_systolic")
    page.fill("#id_systolic", "132")
    page.fill("#id_diastolic", "84")
    page.fill("#id_heart_rate", "78")
    page.click("#entries-vitals button[type=submit]:has-text('Record vital signs')")
    page.wait_for_selector("#entries-vitals .saved")
    assert "132/84 mmHg" in page.inner_text("#entries-vitals")

    # Reconciles the medication list: warfarin continued, simvastatin stopped.
    page.click("#entries-medications summary")
    page.wait_for_selector("form.reconcile", state="attached")
    page.click("#entries-medications summary:has-text('Reconcile the list')")
    page.click("form.reconcile button[type=submit]")  # no decisions yet: each drug is named
    page.wait_for_selector("form.reconcile .error")
    assert "simvastatin 40 MG Oral Tablet: say whether it is continued, changed or stopped" in page.inner_text(
        "#entries-medications")
    page.locator("fieldset.reconcile-item", has_text="warfarin").get_by_label("Continued").check()
    page.locator("fieldset.reconcile-item", has_text="simvastatin").get_by_label("Stopped").check()
    page.click("form.reconcile button[type=submit]")
    page.wait_for_selector("#entries-medications .saved")
    medications = page.inner_text("#entries-medications")
    assert "Last reconciled" in medications
    assert "stopped" in page.locator("#entries-medications li", has_text="simvastatin").inner_text()
    assert "stopped" not in page.locator("#entries-medications li", has_text="warfarin").inner_text()

    # Orders a PT/INR for this visit; the ORM goes to the lab over MLLP and the lab accepts it.
    page.click(".visit-actions >> text=Order lab tests")
    page.wait_for_url("**/lab-orders/new/**")
    assert f"for the visit Encounter/{encounter_id}" in page.inner_text("main")
    page.get_by_label("Prothrombin time with INR (PT/INR)").check()
    page.click("text=Send the order")
    page.wait_for_url("**/lab-orders/*/")
    assert page.inner_text("#order-state") == "Accepted by the lab"
    assert "Prothrombin time with INR (PT/INR)" in page.inner_text("main")

    # The lab's result arrives over MLLP at the listener and waits in the physician's inbox.
    assert _send_results(stand_in_lab, results_listener.port) == "AA"
    page.locator("header").get_by_role("link", name="Results", exact=True).click()
    row = page.locator("table tbody tr", has_text="Maria Lopez")
    assert "2 abnormal" in row.inner_text()
    row.locator("a").click()
    page.wait_for_url("**/clinical/inbox/**")
    inr = page.locator("tr", has_text="INR").last.inner_text()
    assert "3.8" in inr and "0.8-1.2" in inr
    page.click("text=Reviewed and signed")
    page.wait_for_url("**/clinical/inbox/")
    assert "Reviewed and signed; the report left your inbox." in page.inner_text("main")
    assert "No new results" in page.inner_text("main")

    # Back in the visit, prescribes ibuprofen: it interacts with warfarin.
    page.goto(visit_url)
    assert page.get_by_label("Chief complaint").input_value() == "Bruising on both arms"  # the draft kept
    page.click(".visit-actions >> text=Prescribe")
    page.wait_for_url("**/prescribe/**")
    page.focus("#drug-q")
    page.keyboard.type("ibuprofen 6")
    page.wait_for_selector("input[name=rxcui][value='197806']")
    page.check("input[name=rxcui][value='197806']")
    alert = page.locator(".cds-card.warning", has_text="warfarin")
    alert.wait_for()
    assert "Major interaction: ibuprofen with warfarin" in alert.inner_text()
    assert "What to do" in alert.inner_text()
    page.fill("#id_dose", "1")
    page.select_option("#id_frequency", "tid")
    page.fill("#id_days", "5")
    page.fill("#id_quantity", "15")
    page.click("button[name=action][value=sign]")  # without an override reason: refused, the alert stays
    page.wait_for_selector("text=each alert below needs the drug removed or an override reason")
    alert = page.locator(".cds-card.warning", has_text="warfarin")
    alert.locator("select").select_option("will-monitor")
    alert.locator("input").fill("INR again in one week")
    page.click("button[name=action][value=sign]")
    page.wait_for_url("**/clinical/prescriptions/**")
    assert page.inner_text("#rx-status") == "active"
    override = orjson.loads(AuditEntry.objects.get(action="cds-feedback", patient_id=PATIENT).detail)
    assert (override["outcome"], override["reason"], override["comment"]) == (
        "overridden", "will-monitor", "INR again in one week")

    # Signs the note: it is locked, and the visit ends.
    page.click("text=Back to the visit note")
    page.wait_for_url(visit_url)
    page.fill("textarea[name=assessment-text]", "Supratherapeutic INR on warfarin")
    page.fill("textarea[name=plan-text]", "Hold one dose of warfarin; repeat INR in one week")
    page.click("text=Sign the note")
    page.wait_for_selector("#note-status:has-text('signed')")
    assert "Supratherapeutic INR on warfarin" in page.inner_text("main")
    assert page.locator("#note-form").count() == 0
    assert page.locator(".visit-actions").count() == 0
    assert "Add to the signed note" in page.inner_text("main")
    assert "Visit finished" in page.inner_text("main")
    doctor = context_for_user(get_user_model().objects.get(username="dradeyemi"), "127.0.0.1")
    with pytest.raises(MederiError):
        notes.save_draft(doctor, encounter_id, {"chief-complaint": "changed after signing"})
