"""The directory services: locations, rooms and providers as the record stores them, and every
refusal naming its field with nothing stored."""

from __future__ import annotations

import pytest

from mederi.accounts.context import context_for_user
from mederi.accounts.selectors import locations as role_locations
from mederi.conftest import record_row_counts, staff_user
from mederi.core import systems
from mederi.core.errors import Forbidden, InvalidRequest
from mederi.fhir.repository import Repository
from mederi.scheduling import directory, selectors, services
from mederi.scheduling.directory import LocationDetails, ProviderDetails
from mederi.scheduling.errors import BookingError
from mederi.scheduling.tests.conftest import SYSTEM, at

pytestmark = pytest.mark.django_db

VALID_NPI, OTHER_NPI = "1234567893", "1245319599"


@pytest.fixture
def admin(db):
    return context_for_user(staff_user("ada", "practice_admin"))


def read(resource_type: str, logical_id: str) -> dict:
    return Repository(SYSTEM).read(resource_type, logical_id).as_dict()


def roles_of(practitioner_id: str) -> list[dict]:
    found = Repository(SYSTEM).search("PractitionerRole", [("practitioner", f"Practitioner/{practitioner_id}")])
    return [m.as_dict() for m in found.matches]


def refused(call) -> dict[str, str]:
    """The messages of a refusal by field; asserts nothing was stored."""
    before = record_row_counts()
    with pytest.raises(InvalidRequest) as caught:
        call()
    assert record_row_counts() == before
    return {issue.expression: issue.diagnostics for issue in caught.value.issues}


# -- locations -------------------------------------------------------------------------------------------


def test_a_new_location_is_a_fhir_location_with_address_phone_and_time_zone(practice, admin):
    location_id = directory.save_location(admin, LocationDetails(
        name="Lakeside clinic", address_line="9 Shore Drive", city="Springfield", state="il", postal_code="62703",
        phone="217-555-0199", time_zone="America/New_York"))
    stored = read("Location", location_id)
    assert stored["name"] == "Lakeside clinic" and stored["status"] == "active"
    assert stored["address"] == {"line": ["9 Shore Drive"], "city": "Springfield", "state": "IL",
                                 "postalCode": "62703"}
    assert stored["telecom"] == [{"system": "phone", "value": "217-555-0199", "use": "work"}]
    assert stored["extension"] == [{"url": systems.TIMEZONE_EXTENSION, "valueCode": "America/New_York"}]
    assert (location_id, "Lakeside clinic") in selectors.bookable_locations()
    # Reminders read the same extension for the visit's local time.
    from zoneinfo import ZoneInfo

    from mederi.scheduling.reminders.timing import practice_timezone

    assert practice_timezone(stored) == ZoneInfo("America/New_York")


def test_editing_a_location_keeps_what_the_page_does_not_show(practice, admin):
    Repository(SYSTEM).update("Location", "clinic-main", {
        "resourceType": "Location", "id": "clinic-main", "status": "active", "name": "Main clinic",
        "managingOrganization": {"reference": "Organization/practice"},
        "identifier": [{"system": "urn:example:site", "value": "S1"}]})
    directory.save_location(admin, LocationDetails(name="Main clinic (downtown)", phone="217 555 0100"),
                            location_id="clinic-main")
    stored = read("Location", "clinic-main")
    assert stored["name"] == "Main clinic (downtown)"
    assert stored["managingOrganization"] == {"reference": "Organization/practice"}
    assert stored["identifier"] == [{"system": "urn:example:site", "value": "S1"}]


def test_a_deactivated_location_is_kept_but_no_longer_offered_for_booking(practice, admin, frontdesk):
    directory.save_location(admin, LocationDetails(name="North clinic", active=False), location_id="clinic-north")
    assert read("Location", "clinic-north")["status"] == "inactive"
    assert "clinic-north" not in dict(selectors.bookable_locations())
    assert "clinic-north" in dict(selectors.locations())  # calendars still show its past days
    with pytest.raises(BookingError) as caught:
        services.book_appointment(frontdesk, "pat-a", "dr-okafor", "clinic-north", at(practice, 9), "fu")
    assert str(caught.value) == ("location_id: North clinic is inactive in the directory and takes no bookings. "
                                 "Choose another location.")


@pytest.mark.parametrize("details, field, words", [
    (LocationDetails(name="  "), "name", "Enter the location's name"),
    (LocationDetails(name="main CLINIC"), "name", "There is already a location named Main clinic"),
    (LocationDetails(name="X", state="Illinois"), "state", "two-letter state code"),
    (LocationDetails(name="X", postal_code="6270"), "postal_code", "ZIP code"),
    (LocationDetails(name="X", phone="call us"), "phone", "at least 7 digits"),
    (LocationDetails(name="X", time_zone="Mars/Olympus"), "time_zone", "'Mars/Olympus' is not a time zone name"),
])
def test_bad_location_details_are_refused_at_their_field(practice, admin, details, field, words):
    problems = refused(lambda: directory.save_location(admin, details))
    assert words in problems[field]


def test_the_front_desk_may_read_the_directory_but_not_change_it(practice, frontdesk):
    assert [row.name for row in directory.location_list(frontdesk)] == ["Main clinic", "North clinic"]
    with pytest.raises(Forbidden):
        directory.save_location(frontdesk, LocationDetails(name="Lakeside"))
    with pytest.raises(Forbidden):
        directory.add_room(frontdesk, "clinic-main", "Exam 1")
    with pytest.raises(Forbidden):
        directory.save_provider(frontdesk, ProviderDetails(family="Lee"))


# -- rooms -------------------------------------------------------------------------------------------------


def test_a_room_is_a_location_of_physical_type_room_part_of_its_clinic(practice, admin):
    room_id = directory.add_room(admin, "clinic-main", " Exam 1 ")
    room = read("Location", room_id)
    assert room["name"] == "Exam 1" and room["status"] == "active"
    assert room["physicalType"]["coding"] == [{"system": systems.LOCATION_PHYSICAL_TYPE, "code": "ro",
                                               "display": "Room"}]
    assert room["partOf"] == {"reference": "Location/clinic-main"}
    # A room is a place inside a location: not a location of its own in pickers and role assignment.
    assert room_id not in dict(role_locations()) and room_id not in dict(selectors.bookable_locations())
    assert [(r.name, r.active) for r in directory.rooms_of("clinic-main")] == [("Exam 1", True)]
    assert [r.name for r in directory.location_list(admin)[0].rooms] == ["Exam 1"]


def test_rooms_are_renamed_and_taken_out_of_use_never_deleted(practice, admin):
    room_id = directory.add_room(admin, "clinic-main", "Exam 1")
    directory.save_room(admin, room_id, name="Exam 1A", active=True)
    directory.save_room(admin, room_id, name="Exam 1A", active=False)
    assert read("Location", room_id)["status"] == "inactive"
    assert [(r.name, r.active) for r in directory.rooms_of("clinic-main")] == [("Exam 1A", False)]
    assert selectors.rooms_by_location() == []  # nothing left to offer for booking


def test_room_names_are_needed_and_unique_within_their_location(practice, admin):
    first = directory.add_room(admin, "clinic-main", "Exam 1")
    second = directory.add_room(admin, "clinic-main", "Exam 2")
    assert "already has a room named Exam 1" in refused(lambda: directory.add_room(admin, "clinic-main", "exam 1"))[
        "room_name"]
    assert "Enter the room's name" in refused(lambda: directory.add_room(admin, "clinic-main", " "))["room_name"]
    assert "already has a room named Exam 1" in refused(
        lambda: directory.save_room(admin, second, name="EXAM 1", active=True))["room_name"]
    directory.add_room(admin, "clinic-north", "Exam 1")  # another location may use the name
    directory.save_room(admin, first, name="Exam 1", active=True)  # keeping its own name is fine


# -- providers ----------------------------------------------------------------------------------------------


def test_a_new_provider_is_a_practitioner_with_one_role_per_location(practice, admin):
    practitioner_id = directory.save_provider(admin, ProviderDetails(
        family="Lee", given="Mina Jo", prefix="Dr.", qualifications=["MD"], npi=" 1234567893 ",
        specialty="419772000", location_ids=["clinic-main", "clinic-north"]))
    practitioner = read("Practitioner", practitioner_id)
    assert practitioner["active"] is True
    assert practitioner["name"] == [{"use": "official", "family": "Lee", "given": ["Mina", "Jo"], "prefix": ["Dr."]}]
    assert practitioner["identifier"] == [{"system": systems.NPI, "value": VALID_NPI}]
    assert practitioner["qualification"][0]["code"]["coding"][0]["code"] == "MD"
    roles = roles_of(practitioner_id)
    assert sorted(r["location"][0]["reference"] for r in roles) == ["Location/clinic-main", "Location/clinic-north"]
    assert all(len(r["location"]) == 1 and r["active"] for r in roles)
    assert {r["specialty"][0]["coding"][0]["code"] for r in roles} == {"419772000"}
    row = next(r for r in directory.provider_list(admin) if r.id == practitioner_id)
    assert (row.name, row.npi, row.specialty, row.locations) == (
        "Dr. Mina Jo Lee", VALID_NPI, "Family practice", "Main clinic, North clinic")


def test_changing_where_a_provider_works_deactivates_the_role_it_no_longer_needs(practice, admin):
    practitioner_id = directory.save_provider(admin, ProviderDetails(family="Lee", location_ids=["clinic-main",
                                                                                                "clinic-north"]))
    directory.save_provider(admin, ProviderDetails(family="Lee", location_ids=["clinic-north"]),
                            practitioner_id=practitioner_id)
    active = {r["location"][0]["reference"]: r["active"] for r in roles_of(practitioner_id)}
    assert active == {"Location/clinic-main": False, "Location/clinic-north": True}
    assert directory.provider(admin, practitioner_id).location_ids == ["clinic-north"]
    # Back again: the same role is used, not a third one.
    directory.save_provider(admin, ProviderDetails(family="Lee", location_ids=["clinic-main", "clinic-north"]),
                            practitioner_id=practitioner_id)
    assert len(roles_of(practitioner_id)) == 2 and all(r["active"] for r in roles_of(practitioner_id))


def test_a_role_naming_several_locations_becomes_one_role_per_location(practice, admin):
    Repository(SYSTEM).update("PractitionerRole", "ruiz-role", {
        "resourceType": "PractitionerRole", "id": "ruiz-role", "active": True,
        "practitioner": {"reference": "Practitioner/dr-ruiz"},
        "location": [{"reference": "Location/clinic-main"}, {"reference": "Location/clinic-north"}]})
    assert directory.provider(admin, "dr-ruiz").location_ids == ["clinic-main", "clinic-north"]
    directory.save_provider(admin, ProviderDetails(family="Ruiz", given="Ana", prefix="Dr.",
                                                   location_ids=["clinic-main", "clinic-north"]),
                            practitioner_id="dr-ruiz")
    roles = roles_of("dr-ruiz")
    assert sorted((len(r["location"]), r["active"]) for r in roles) == [(1, True), (1, True), (2, False)]


def test_a_deactivated_provider_is_no_longer_offered_nor_bookable(practice, admin, frontdesk):
    directory.save_provider(admin, ProviderDetails(family="Okafor", given="James", prefix="Dr.",
                                                   location_ids=["clinic-main"], active=False),
                            practitioner_id="dr-okafor")
    assert read("Practitioner", "dr-okafor")["active"] is False
    assert "dr-okafor" not in dict(selectors.practitioners())
    with pytest.raises(BookingError) as caught:
        services.book_appointment(frontdesk, "pat-a", "dr-okafor", "clinic-main", at(practice, 9), "fu")
    assert caught.value.issues[0].expression == "practitioner_id"
    assert "Dr Okafor is marked inactive" in str(caught.value)


def test_a_wrong_npi_check_digit_is_explained(practice, admin):
    problems = refused(lambda: directory.save_provider(admin, ProviderDetails(family="Lee", npi="1234567890")))
    assert problems["npi"] == ("1234567890 is not a valid NPI: by the NPI check-digit rule (the Luhn formula over "
                               "80840 and the first nine digits) the last digit would be 3, not 0. Check the number "
                               "for a typing mistake.")


@pytest.mark.parametrize("npi, words", [("12345", "exactly 10 digits; this has 5 digits."),
                                        ("12345-67893", "exactly 10 digits; this has 10 digits and other")])
def test_an_npi_of_the_wrong_length_is_refused(practice, admin, npi, words):
    assert words in refused(lambda: directory.save_provider(admin, ProviderDetails(family="Lee", npi=npi)))["npi"]


def test_an_npi_already_given_to_another_provider_is_refused(practice, admin):
    directory.save_provider(admin, ProviderDetails(family="Ruiz", given="Ana", prefix="Dr.", npi=VALID_NPI),
                            practitioner_id="dr-ruiz")
    problems = refused(lambda: directory.save_provider(admin, ProviderDetails(family="Lee", npi=VALID_NPI)))
    assert problems["npi"] == f"Dr. Ana Ruiz already has the NPI {VALID_NPI}: each provider has their own."
    # The provider who has it may keep it.
    directory.save_provider(admin, ProviderDetails(family="Ruiz", given="Ana", npi=VALID_NPI), practitioner_id="dr-ruiz")


def test_a_missing_name_and_an_unknown_location_are_refused_together(practice, admin):
    problems = refused(lambda: directory.save_provider(admin, ProviderDetails(
        family=" ", npi=OTHER_NPI, location_ids=["clinic-main", "clinic-nowhere"])))
    assert problems == {"family": "Enter the provider's family name.",
                        "location_ids": "There is no location 'clinic-nowhere'. Choose from the practice's locations."}


def test_a_room_or_an_inactive_location_is_not_a_place_to_work(practice, admin):
    room_id = directory.add_room(admin, "clinic-main", "Exam 1")
    problems = refused(lambda: directory.save_provider(admin, ProviderDetails(family="Lee", location_ids=[room_id])))
    assert problems["location_ids"] == "Exam 1 is a room, not a location: choose the clinic it belongs to."
    directory.save_location(admin, LocationDetails(name="North clinic", active=False), location_id="clinic-north")
    problems = refused(lambda: directory.save_provider(admin, ProviderDetails(family="Lee",
                                                                              location_ids=["clinic-north"])))
    assert "North clinic is inactive" in problems["location_ids"]
