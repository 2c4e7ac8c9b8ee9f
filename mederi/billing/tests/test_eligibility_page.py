"""The eligibility partial on the patient page: who sees it, who may run a check, what it shows."""

from __future__ import annotations

import pytest
from django.test import Client

from mederi.audit.models import AuditEntry
from mederi.billing.models import EligibilityCheck
from mederi.conftest import staff_user

URL = "/billing/eligibility/coverage/cov-jane"
HTMX = {"HX-Request": "true"}


def signed_in(username: str, *roles: str) -> Client:
    client = Client()
    client.force_login(staff_user(username, *roles))
    return client


def test_front_desk_sees_not_checked_yet_and_the_button(https):
    page = signed_in("fran", "front_desk").get(URL, headers=HTMX)

    assert page.status_code == 200
    html = page.content.decode()
    assert "Not checked yet." in html
    assert '<button type="submit">Check eligibility</button>' in html
    assert 'hx-post="/billing/eligibility/coverage/cov-jane"' in html
    assert "<html" not in html  # a partial, for htmx to swap in


def test_front_desk_runs_a_check_and_sees_the_answer(https):
    page = signed_in("fran", "front_desk").post(URL, headers=HTMX)

    assert page.status_code == 200
    html = page.content.decode()
    assert '<span class="badge badge-active">Active</span>' in html
    assert "GOLD PPO" in html
    assert "<dt>Office visit copay</dt><dd>$25.00</dd>" in html
    assert "<dd>$700.50 of $1,500.00</dd>" in html
    assert "<dd>20 %</dd>" in html
    assert EligibilityCheck.objects.filter(coverage_id="cov-jane").count() == 1


def test_the_latest_answer_shows_on_the_next_visit_and_the_read_is_audited(https):
    client = signed_in("fran", "front_desk")
    client.post(URL, headers=HTMX)

    page = client.get(URL, headers=HTMX)

    assert '<span class="badge badge-active">Active</span>' in page.content.decode()
    entry = AuditEntry.objects.filter(action="search", resource_type="CoverageEligibilityResponse").last()
    assert entry.patient_id == "pat-jane" and entry.actor_name == "fran"


def test_a_rejection_is_shown_in_words(https):
    page = signed_in("fran", "front_desk").post("/billing/eligibility/coverage/cov-unknown", headers=HTMX)

    html = page.content.decode()
    assert '<span class="badge badge-rejected">Rejected</span>' in html
    assert "The payer can&#x27;t find this member: check the member ID, name and date of birth." in html
    assert "Office visit copay" not in html


def test_a_check_that_cannot_be_made_says_why_in_the_partial(https):
    https.delete()

    page = signed_in("fran", "front_desk").post(URL, headers=HTMX)

    assert page.status_code == 200
    assert ('<p class="error" role="alert">Acme Health Plan has no clearinghouse connection set up'
            in page.content.decode())
    assert not EligibilityCheck.objects.exists()


def test_without_htmx_the_partial_comes_in_a_whole_page(https):
    page = signed_in("fran", "front_desk").get(URL)

    assert page.status_code == 200
    assert "<html" in page.content.decode() and "Check eligibility" in page.content.decode()


def test_an_auditor_cannot_see_or_run_checks(https):
    client = signed_in("audrey", "auditor")

    assert client.get(URL, headers=HTMX).status_code == 403
    assert client.post(URL, headers=HTMX).status_code == 403
    assert not EligibilityCheck.objects.exists()


def test_a_nurse_sees_the_status_but_cannot_run_a_check(https):
    client = signed_in("nina", "nurse")

    page = client.get(URL, headers=HTMX)
    assert page.status_code == 200 and "Check eligibility" not in page.content.decode()
    assert client.post(URL, headers=HTMX).status_code == 403
    assert not EligibilityCheck.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_signed_out_people_are_sent_to_sign_in(https, method):
    page = getattr(Client(), method)(URL)

    assert page.status_code == 302 and "/login" in page["Location"]
