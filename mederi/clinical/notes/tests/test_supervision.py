"""The supervision page: an administrator says which physician co-signs a clinician's notes, the
choice is checked and audited, and the supervised clinician's signed note then awaits co-signing."""

from __future__ import annotations

import orjson
import pytest
from django.test import Client

from mederi.audit.models import AuditEntry
from mederi.clinical.notes import supervision
from mederi.clinical.notes.tests.conftest import system_repo
from mederi.conftest import record_row_counts, staff_user
from mederi.core import systems

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def clinician_client(username: str, practitioner_id: str) -> Client:
    user = staff_user(username, "physician")
    user.profile.practitioner_id = practitioner_id
    user.profile.save(update_fields=["practitioner_id"])
    return signed_in(user)


def practitioner(practitioner_id: str, family: str, degree: str, *, active: bool = True) -> None:
    system_repo().update("Practitioner", practitioner_id, {
        "resourceType": "Practitioner", "id": practitioner_id, "active": active, "name": [{"family": family}],
        "qualification": [{"code": {"coding": [{"system": systems.QUALIFICATION, "code": degree}]}}]})


@pytest.fixture
def admin(practice):
    return signed_in(staff_user("admin", "practice_admin"))


def supervision_entries():
    return [orjson.loads(e.detail) for e in AuditEntry.objects.filter(action="supervision-change").order_by("id")]


def test_an_administrator_makes_a_nurse_practitioner_supervised_and_her_signed_note_awaits_co_signature(admin):
    listing = admin.get("/clinical/supervision/").content.decode()
    assert "not supervised" in listing and "Change who supervises Lee" in listing

    form = admin.get("/clinical/supervision/np-lee/").content.decode()
    assert '<option value="dr-ruiz">' in form  # an MD is offered
    assert '<option value="np-lee">' not in form  # nobody supervises themselves

    saved = admin.post("/clinical/supervision/np-lee/", {"supervisor": "dr-ruiz"}, follow=True)
    page = saved.content.decode()
    assert "notes now need co-signing by" in page
    row = page.split('id="supervision-np-lee"')[1].split("</tr>")[0]
    assert "Ruiz" in row
    assert supervision.supervisor_of(system_repo(), "np-lee") == "dr-ruiz"
    assert supervision_entries() == [{"practitioner": "np-lee", "supervisor": "dr-ruiz", "before": None}]

    # The nurse practitioner documents and signs a visit: the note waits for Dr Ruiz.
    lee = clinician_client("nplee", "np-lee")
    visit = lee.post("/clinical/visits/start/appt-1/")["Location"]
    signed = lee.post(visit, {"template": "note-adult-visit-1", "action": "sign", "chief-complaint": "Rash",
                              "assessment-text": "Contact dermatitis", "plan-text": "Emollients"})
    assert signed.status_code == 302
    page = lee.get(visit).content.decode()
    assert "awaiting co-signature" in page
    assert "Awaiting co-signature by the supervising physician." in page

    ruiz = clinician_client("drruiz", "dr-ruiz")
    page = ruiz.get(visit).content.decode()
    assert "Co-sign the note" in page
    composition_id = page.split("/clinical/notes/")[1].split("/cosign/")[0]
    ruiz.post(f"/clinical/notes/{composition_id}/cosign/")
    page = ruiz.get(visit).content.decode()
    assert "Awaiting co-signature" not in page and 'id="note-status">signed<' in page


def test_ending_supervision_lets_the_clinicians_signature_complete_the_note(admin):
    admin.post("/clinical/supervision/np-lee/", {"supervisor": "dr-ruiz"})
    ended = admin.post("/clinical/supervision/np-lee/", {"supervisor": ""}, follow=True)
    assert "Lee is no longer supervised" in ended.content.decode()
    assert supervision.supervisor_of(system_repo(), "np-lee") is None
    assert supervision_entries()[-1] == {"practitioner": "np-lee", "supervisor": None, "before": "dr-ruiz"}

    lee = clinician_client("nplee", "np-lee")
    visit = lee.post("/clinical/visits/start/appt-1/")["Location"]
    lee.post(visit, {"template": "note-adult-visit-1", "action": "sign", "chief-complaint": "Rash",
                     "assessment-text": "Contact dermatitis", "plan-text": "Emollients"})
    assert 'id="note-status">signed<' in lee.get(visit).content.decode()


@pytest.mark.parametrize("chosen, message", [
    ("np-lee", "a practitioner cannot supervise themselves"),
    ("rn-cole", "the supervisor must be an active physician (MD or DO in the provider directory)"),
    ("dr-gone", "the supervisor must be an active physician (MD or DO in the provider directory)"),
    ("dr-nobody", "there is no practitioner &#x27;dr-nobody&#x27;"),
])
def test_a_supervisor_who_cannot_supervise_is_refused_at_the_field_and_nothing_changes(admin, chosen, message):
    practitioner("rn-cole", "Cole", "RN")
    practitioner("dr-gone", "Gone", "MD", active=False)
    form = admin.get("/clinical/supervision/np-lee/").content.decode()
    assert '<option value="rn-cole">' not in form and '<option value="dr-gone">' not in form
    before = record_row_counts()

    refused = admin.post("/clinical/supervision/np-lee/", {"supervisor": chosen})

    assert refused.status_code == 400
    page = refused.content.decode()
    assert message in page and 'id="id_supervisor-error"' in page
    assert record_row_counts() == before
    assert supervision_entries() == []


def test_a_physician_sees_who_is_supervised_but_cannot_change_it(practice):
    supervision.set_supervisor(supervision_context(), "np-lee", "dr-ruiz")
    doctor = clinician_client("drruiz", "dr-ruiz")
    listing = doctor.get("/clinical/supervision/").content.decode()
    assert "Ruiz" in listing.split('id="supervision-np-lee"')[1].split("</tr>")[0]
    assert "Change who supervises" not in listing
    before = record_row_counts()
    assert doctor.post("/clinical/supervision/np-lee/", {"supervisor": ""}).status_code == 403
    assert record_row_counts() == before
    assert supervision.supervisor_of(system_repo(), "np-lee") == "dr-ruiz"


def test_an_unknown_practitioner_has_no_supervision_page(admin):
    assert admin.get("/clinical/supervision/nobody/").status_code == 404


def supervision_context():
    from mederi.core.context import Context

    return Context.system("test")
