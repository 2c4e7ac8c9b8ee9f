"""The front desk's day, tried in a real browser as a new user would, on the demo practice:
sign in, register a patient with insurance, find a free time, book it, send a reminder and
confirm it by the patient's reply, then check the patient in with an eligibility check and a copay."""

import re

import pytest

from mederi.conftest import needs_chromium

pytestmark = needs_chromium

PASSWORD = "mederi-demo-2026"
SLOW = 20_000  # ms: steps that write several resources or ask the payer, on a busy machine


@pytest.fixture
def demo_practice(transactional_db):
    from mederi.demo import load_demo

    load_demo()


def _appointment(appointment_id: str) -> dict:
    from mederi.core.context import Context
    from mederi.fhir.repository import Repository

    return Repository(Context.system()).read("Appointment", appointment_id).as_dict()


def test_register_book_remind_confirm_and_check_in(live_server, page, demo_practice):
    from mederi.billing.models import PatientPayment

    expect = pytest.importorskip("playwright.sync_api").expect
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "frontdesk")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    # Register a new patient with insurance.
    page.click("header >> text=Patients")
    page.click("text=Register a new patient")
    page.fill("#id_family", "Rivera")
    page.fill("#id_given", "Lucia")
    page.fill("#id_birth_date", "1988-03-14")
    page.select_option("#id_gender", "female")
    page.fill("#id_phone", "217-555-0199")
    page.fill("#id_email", "lucia.rivera@example.com")
    page.fill("#id_address_line", "9 Willow Court")
    page.fill("#id_city", "Springfield")
    page.fill("#id_state", "IL")
    page.fill("#id_postal_code", "62704")
    page.select_option("#id_primary_payer", "demo-payer-acme")
    page.fill("#id_primary_member_id", "DEMO1001")
    page.check("#id_privacy_notice")
    page.check("#id_consent_to_treat")
    page.check("#id_sms_reminders")
    page.click("text=Register the patient")
    expect(page.locator(".messages")).to_contain_text("The patient is registered.", timeout=SLOW)
    expect(page.locator("h1")).to_contain_text("Lucia Rivera")
    patient_id = page.url.rstrip("/").split("/")[-1]

    # The chart loads its eligibility and appointments sections after the page; the first pushes
    # the second down, so wait for it before clicking below it.
    expect(page.locator("section.eligibility")).to_contain_text("Not checked yet.", timeout=SLOW)

    # Find the next free follow-up with Dr Ruiz at the main clinic, and book it.
    page.click("text=Book an appointment")
    page.click("text=Find next available instead")
    page.select_option("#id_type_code", "follow-up")
    page.select_option("#id_practitioner_id", "demo-dr-ruiz")
    page.select_option("#id_location_id", "demo-clinic-main")
    page.click("button:text-is('Search')")
    expect(page.locator("#results")).to_contain_text("free times", timeout=SLOW)
    page.locator("a", has_text=re.compile(r"^Book .* with ")).first.click()
    page.click("form >> button:text-is('Book')")
    expect(page.locator("h1")).to_contain_text("Lucia Rivera", timeout=SLOW)
    appointment_id = page.url.rstrip("/").split("/")[-1]
    booked = _appointment(appointment_id)
    assert booked["status"] == "booked"
    assert {"reference": f"Patient/{patient_id}"} in [p["actor"] for p in booked["participant"]]

    # Send a text reminder now; the patient answers C from the local outbox.
    reminders = page.locator("section.reminders")
    reminders.locator("select[name=channel]").select_option("sms")
    reminders.locator("text=Send reminder now").click()
    expect(page.locator("section.reminders")).to_contain_text("sent by hand by frontdesk", timeout=SLOW)
    page.goto(f"{base}/schedule/reminders/outbox/")
    reply = page.locator("form.reminders-reply").first
    reply.locator("input[name=body]").fill("C")
    reply.locator("text=Send reply").click()
    page.wait_for_load_state("load")
    expect(page.locator("table")).to_contain_text("C", timeout=SLOW)
    confirmed = _appointment(appointment_id)
    assert any(e["url"] == "urn:mederi:appointment-confirmed" for e in confirmed.get("extension", []))

    # Check in: eligibility from the payer, the copay, then the clinician's queue.
    page.goto(f"{base}/schedule/checkin/{appointment_id}/")
    # The button arrives with the eligibility section after the page has loaded; "text=Check
    # eligibility" would match the copay step's hint ("check eligibility first") before that.
    page.get_by_role("button", name="Check eligibility").click()
    expect(page.locator(".eligibility")).to_contain_text("Active", timeout=SLOW)
    expect(page.locator(".eligibility")).to_contain_text("25.00")
    page.fill("#copay-amount", "25.00")
    page.click("text=Take the copay")
    expect(page.locator(".messages")).to_contain_text("Copay of $25.00 taken", timeout=SLOW)
    page.check("input[name=confirmed]")
    page.click("form >> button:text-is('Check in')")
    expect(page.locator("[role=status]")).to_contain_text("Checked in.", timeout=SLOW)
    assert _appointment(appointment_id)["status"] == "checked-in"
    payment = PatientPayment.objects.get(appointment_id=appointment_id)
    assert (payment.patient_id, str(payment.amount)) == (patient_id, "25.00")
