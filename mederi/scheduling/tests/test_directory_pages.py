"""The directory pages as a practice administrator and the front desk use them."""

from __future__ import annotations

import pytest
from django.test import Client

from mederi.conftest import record_row_counts, staff_user
from mederi.fhir.repository import Repository
from mederi.scheduling import directory
from mederi.scheduling.tests.conftest import SYSTEM

pytestmark = pytest.mark.django_db


def signed_in(username: str, *roles: str) -> Client:
    client = Client()
    client.force_login(staff_user(username, *roles))
    return client


@pytest.fixture
def admin(practice):
    return signed_in("ada", "practice_admin")


def location_form(**changes) -> dict:
    return {"name": "Lakeside clinic", "address_line": "9 Shore Drive", "city": "Springfield", "state": "IL",
            "postal_code": "62703", "phone": "217-555-0199", "time_zone": "", "active": "on", **changes}


def test_the_schedule_links_to_the_directory_which_lists_locations_rooms_and_providers(admin):
    directory.add_room(SYSTEM, "clinic-main", "Exam 1")
    day = admin.get("/schedule/").content.decode()
    assert 'href="/schedule/directory/"' in day and "Locations and providers" in day
    page = admin.get("/schedule/directory/").content.decode()
    assert 'href="/schedule/directory/locations/clinic-main/">Main clinic</a>' in page
    assert "<td>Exam 1</td>" in page
    assert 'href="/schedule/directory/providers/dr-ruiz/">Dr. Ana Ruiz</a>' in page
    assert "Add a location" in page and "Add a provider" in page


def test_the_front_desk_sees_the_directory_but_cannot_change_it(practice):
    desk = signed_in("fran", "front_desk")
    page = desk.get("/schedule/directory/").content.decode()
    assert "Main clinic" in page and "Add a location" not in page
    assert "/schedule/directory/locations/clinic-main/" not in page
    before = record_row_counts()
    assert desk.get("/schedule/directory/locations/new/").status_code == 403
    assert desk.post("/schedule/directory/locations/new/", location_form()).status_code == 403
    assert desk.post("/schedule/directory/locations/clinic-main/rooms", {"room_name": "Exam 9"}).status_code == 403
    assert record_row_counts() == before


def test_adding_a_location_then_a_room_from_the_pages(admin):
    response = admin.post("/schedule/directory/locations/new/", location_form())
    assert response.status_code == 302
    location_id = response["Location"].rstrip("/").rsplit("/", 1)[1]
    page = admin.get(response["Location"]).content.decode()
    assert "Saved Lakeside clinic." in page and 'value="9 Shore Drive"' in page
    response = admin.post(f"/schedule/directory/locations/{location_id}/rooms", {"room_name": "Exam 1"})
    assert response.status_code == 302
    page = admin.get(response["Location"]).content.decode()
    assert "Added the room Exam 1." in page and "Take Exam 1 out of use" in page
    book = admin.get("/schedule/book/").content.decode()
    assert '<optgroup label="Lakeside clinic">' in book


def test_a_location_without_a_name_is_refused_at_the_field_and_nothing_is_stored(admin):
    before = record_row_counts()
    response = admin.post("/schedule/directory/locations/new/", location_form(name="", phone="abc"))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_name-error"' in page and "Enter the location&#x27;s name" in page
    assert 'id="id_phone-error"' in page and "at least 7 digits" in page
    assert "Nothing was saved" in page
    assert record_row_counts() == before


def test_deactivating_a_location_from_its_page(admin):
    response = admin.post("/schedule/directory/locations/clinic-north/", location_form(name="North clinic",
                                                                                      active=""))
    assert response.status_code == 302
    page = admin.get("/schedule/directory/").content.decode()
    assert "<strong>Inactive</strong>: takes no bookings" in page
    assert ">North clinic</option>" not in admin.get("/schedule/book/").content.decode()


def test_renaming_a_room_to_a_taken_name_shows_the_problem_beside_that_room(admin):
    directory.add_room(SYSTEM, "clinic-main", "Exam 1")
    second = directory.add_room(SYSTEM, "clinic-main", "Exam 2")
    before = record_row_counts()
    response = admin.post(f"/schedule/directory/rooms/{second}", {"location_id": "clinic-main", "action": "rename",
                                                                  "name": "Exam 1"})
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="room-name-{second}-error"' in page and "already has a room named Exam 1" in page
    assert f'id="room-name-{second}" name="name" maxlength="100" value="Exam 1" aria-invalid="true"' in page
    assert record_row_counts() == before
    response = admin.post(f"/schedule/directory/rooms/{second}", {"location_id": "clinic-main",
                                                                  "action": "deactivate"})
    assert response.status_code == 302
    assert "Put Exam 2 back in use" in admin.get(response["Location"]).content.decode()


def provider_form(**changes) -> dict:
    return {"prefix": "Dr.", "given": "Mina", "family": "Lee", "qualifications": ["MD"], "npi": "1245319599",
            "specialty": "419772000", "location_ids": ["clinic-main"], "active": "on", **changes}


def test_adding_a_provider_from_the_page(admin):
    response = admin.post("/schedule/directory/providers/new/", provider_form())
    assert response.status_code == 302
    page = admin.get("/schedule/directory/").content.decode()
    assert "Saved Dr. Mina Lee." in page and "<code>1245319599</code>" in page and "Family practice" in page
    practitioner_id = response["Location"].rsplit("#provider-", 1)[1]
    edit = admin.get(f"/schedule/directory/providers/{practitioner_id}/").content.decode()
    assert 'value="clinic-main" id="id_location_ids_0" checked' in edit
    assert "Set their working hours" in edit


@pytest.mark.parametrize("changes, field, words", [
    ({"npi": "1245319598"}, "npi", "the last digit would be 9, not 8"),
    ({"npi": "1234567893", "family": "Lee"}, "npi", "Dr. Ana Ruiz already has the NPI 1234567893"),
    ({"family": ""}, "family", "Enter the provider&#x27;s family name."),
    ({"location_ids": ["clinic-main", "clinic-atlantis"]}, "location_ids", "There is no location &#x27;clinic-atlantis&#x27;"),
])
def test_a_bad_provider_is_refused_at_the_field_and_nothing_is_stored(admin, changes, field, words):
    Repository(SYSTEM).update("Practitioner", "dr-ruiz", {
        "resourceType": "Practitioner", "id": "dr-ruiz", "active": True,
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
        "name": [{"family": "Ruiz", "given": ["Ana"], "prefix": ["Dr."]}]})
    before = record_row_counts()
    response = admin.post("/schedule/directory/providers/new/", provider_form(**changes))
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_{field}-error"' in page
    assert words in page
    assert record_row_counts() == before
