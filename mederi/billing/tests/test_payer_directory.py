"""The payer directory: listing payers, adding and editing one with its clearinghouse routing, and bad input."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from mederi.billing.models import PayerConnection
from mederi.conftest import record_row_counts, staff_user
from mederi.core import systems

from .conftest import organization, system_repository

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFjvHMZgdnkGYg3w8qsQYW2u4wsBJQ9M1Jm3DfQmUkXb"


def signed_in(username: str, *roles: str) -> Client:
    client = Client()
    client.force_login(staff_user(username, *roles))
    return client


@pytest.fixture
def admin(db):
    return signed_in("adele", "practice_admin")


def a_payer(**changes) -> dict:
    form = {
        "name": "Blue Prairie Health", "payer_id": "BPH01", "address_line": "1 Main St", "city": "Chicago",
        "state": "il", "postal_code": "60601", "phone": "555-0199",
        "transport": "https", "url": "https://clearinghouse.example.com/core", "host": "", "port": "",
        "username": "riverside", "password": "pa55word", "host_key": "", "ca_file": "",
        "sender_id": "RIVERSIDE", "receiver_id": "BLUEPRAIRIE", "submitter_name": "Riverside Family Medicine",
        "usage": "T", "timeout_seconds": "30", "active": "on",
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def stored_state() -> tuple:
    return record_row_counts(), list(PayerConnection.objects.values_list("organization_id", "url", "host_key"))


def test_an_administrator_adds_a_payer_with_its_routing(admin):
    page = admin.post("/billing/payers/new/", a_payer())

    assert page.status_code == 302
    connection = PayerConnection.objects.get()
    payer = system_repository().read("Organization", connection.organization_id).as_dict()
    assert payer["name"] == "Blue Prairie Health"
    assert payer["type"][0]["coding"][0]["code"] == "pay"
    assert payer["identifier"] == [{"system": systems.PAYER_ID, "value": "BPH01"}]
    assert payer["address"] == [{"line": ["1 Main St"], "city": "Chicago", "state": "IL", "postalCode": "60601"}]
    assert payer["telecom"] == [{"system": "phone", "value": "555-0199", "use": "work"}]
    assert (connection.transport, connection.url, connection.username) == (
        "https", "https://clearinghouse.example.com/core", "riverside")
    assert connection.password == "pa55word"
    listing = admin.get("/billing/payers/").content.decode()
    assert "Blue Prairie Health" in listing and "<code>BPH01</code>" in listing


def test_the_password_is_encrypted_in_the_database(admin):
    from django.db import connection as database

    admin.post("/billing/payers/new/", a_payer())

    with database.cursor() as cursor:
        cursor.execute("SELECT password FROM billing_payer_connection")
        [(raw,)] = cursor.fetchall()
    assert raw and "pa55word" not in raw


def test_editing_keeps_the_stored_password_when_left_empty(admin):
    admin.post("/billing/payers/new/", a_payer())
    organization_id = PayerConnection.objects.get().organization_id

    form = admin.get(f"/billing/payers/{organization_id}/").content.decode()
    assert "pa55word" not in form and "A password is stored" in form
    page = admin.post(f"/billing/payers/{organization_id}/", a_payer(name="Blue Prairie Health Plan", password=""))

    assert page.status_code == 302
    assert PayerConnection.objects.get().password == "pa55word"
    payer = system_repository().read("Organization", organization_id)
    assert payer.as_dict()["name"] == "Blue Prairie Health Plan" and payer.version_id == 2


def test_an_existing_payer_gets_its_routing(admin, db):
    organization("payer-zen", "Zen Mutual", "pay", [])

    page = admin.post("/billing/payers/payer-zen/", a_payer(name="Zen Mutual", payer_id="ZEN9", transport="standin",
                                                             url="", username="", password=""))

    assert page.status_code == 302
    assert PayerConnection.objects.get(organization_id="payer-zen").transport == "standin"
    identifiers = system_repository().read("Organization", "payer-zen").as_dict()["identifier"]
    assert identifiers == [{"system": systems.PAYER_ID, "value": "ZEN9"}]


@pytest.mark.parametrize("changes, field, message", [
    ({"url": "not a url"}, "url", "This is not a web address"),
    ({"url": "http://clearinghouse.example.com/core"}, "url", "Use an https:// address"),
    ({"url": ""}, "url", "Enter the clearinghouse&#x27;s HTTPS address."),
    ({"password": ""}, "password", "Enter the password the clearinghouse gave you."),
    ({"ca_file": "/no/such/file.pem"}, "ca_file", "There is no file at this path on the server"),
    ({"transport": "sftp", "host": "sftp.example.com", "host_key": ""}, "host_key",
     "Paste the SFTP server&#x27;s host key"),
    ({"transport": "sftp", "host": "sftp.example.com", "host_key": "ssh-rsa not-a-key"}, "host_key",
     "This is not an OpenSSH public key line"),
    ({"transport": "sftp", "host": "https://sftp.example.com/x", "host_key": HOST_KEY}, "host", "Enter a host name"),
    ({"transport": "sftp", "host": "sftp.example.com", "host_key": HOST_KEY, "port": "70000"}, "port",
     "A port is a number from 1 to 65535"),
    ({"transport": "sftp", "host": "", "host_key": HOST_KEY}, "host", "Enter the SFTP server&#x27;s host name."),
    ({"transport": "standin", "usage": "P"}, "usage", "The built-in stand-in payer is for demos and tests"),
    ({"name": ""}, "name", "This field is required."),
    ({"payer_id": "BP*01"}, "payer_id", "A payer ID is letters and digits"),
    ({"sender_id": "WAY-TOO-LONG-SENDER-ID"}, "sender_id", "Ensure this value has at most 15 characters"),
    ({"receiver_id": "A~B"}, "receiver_id", "Use up to 15 letters or digits"),
    ({"state": "Illinois"}, "state", "Ensure this value has at most 2 characters"),
    ({"postal_code": "6060"}, "postal_code", "Use a ZIP code such as 62701"),
    ({"phone": "call us"}, "phone", "Enter a phone number of at least 7 digits"),
    ({"timeout_seconds": "0"}, "timeout_seconds", "Wait between 1 and 120 seconds."),
    ({"timeout_seconds": "soon"}, "timeout_seconds", "Enter a whole number."),
])
def test_bad_input_is_shown_at_the_field_and_nothing_is_stored(admin, changes, field, message):
    before = stored_state()

    page = admin.post("/billing/payers/new/", a_payer(**changes))

    assert page.status_code == 400
    html = page.content.decode()
    assert f'id="id_{field}-error"' in html
    error = html.split(f'id="id_{field}-error">', 1)[1].split("</div>", 1)[0]
    assert message in error
    assert "Nothing was saved" in html
    control = re.search(rf'<(input|select|textarea)[^>]*id="id_{field}"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in control and f"id_{field}-error" in control
    assert stored_state() == before


def test_the_typed_values_stay_in_the_form_except_the_password(admin):
    page = admin.post("/billing/payers/new/", a_payer(url="http://insecure.example.com"))

    html = page.content.decode()
    assert 'value="http://insecure.example.com"' in html and 'value="Blue Prairie Health"' in html
    assert "pa55word" not in html


def test_a_payer_id_already_in_use_is_refused(admin, db):
    organization("payer-acme", "Acme Health Plan", "pay", [{"system": systems.PAYER_ID, "value": "ACME01"}])
    before = stored_state()

    page = admin.post("/billing/payers/new/", a_payer(payer_id="ACME01"))

    assert page.status_code == 400
    assert "Acme Health Plan already has the payer ID ACME01." in page.content.decode()
    assert stored_state() == before


def test_front_desk_sees_the_directory_but_cannot_change_it(db):
    organization("payer-acme", "Acme Health Plan", "pay", [{"system": systems.PAYER_ID, "value": "ACME01"}])
    client = signed_in("fran", "front_desk")

    listing = client.get("/billing/payers/")
    assert listing.status_code == 200 and "Acme Health Plan" in listing.content.decode()
    assert "Add a payer" not in listing.content.decode()
    assert client.get("/billing/payers/new/").status_code == 403
    assert client.post("/billing/payers/new/", a_payer()).status_code == 403
    assert client.post("/billing/payers/payer-acme/", a_payer()).status_code == 403
    assert not PayerConnection.objects.exists()


def test_an_auditor_does_not_see_the_directory(db):
    assert signed_in("audrey", "auditor").get("/billing/payers/").status_code == 403


def test_an_unknown_payer_is_not_found(admin):
    organization("practice", "Riverside Family Medicine", "prov", [])

    assert admin.get("/billing/payers/nobody/").status_code == 404
    assert admin.get("/billing/payers/practice/").status_code == 404  # an Organization, but not a payer


def test_an_sftp_payer_is_saved_with_its_host_key(admin):
    page = admin.post("/billing/payers/new/", a_payer(transport="sftp", url="", host="sftp.example.com", port="2222",
                                                      host_key=HOST_KEY))

    assert page.status_code == 302
    connection = PayerConnection.objects.get()
    assert (connection.transport, connection.host, connection.port, connection.host_key) == (
        "sftp", "sftp.example.com", 2222, HOST_KEY)


def test_the_service_refuses_bad_routing_without_the_form(db):
    from mederi.billing.services import PayerDetails, save_payer
    from mederi.core.context import Context
    from mederi.core.errors import InvalidRequest

    with pytest.raises(InvalidRequest) as raised:
        save_payer(Context.system("test"), PayerDetails("Acme", "ACME01"),
                   {"transport": "sftp", "host": "sftp.example.com", "sender_id": "A", "receiver_id": "B",
                    "usage": "T", "timeout_seconds": 30})

    assert {issue.expression for issue in raised.value.issues} == {"username", "password", "host_key"}
    assert not PayerConnection.objects.exists()
