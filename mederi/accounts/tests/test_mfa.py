"""Two-step sign-in (TOTP) for staff, as a person meets it."""

import binascii
import hashlib
import json

import pytest
from django.db import connection
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from mederi.accounts import mfa, services
from mederi.accounts.models import MfaDevice
from mederi.audit.models import AuditEntry
from mederi.core import crypto

PASSWORD = "correct-horse-battery-9"
T = 1_800_000_000.0  # a fixed moment: steps are reasoned about, never waited for


@pytest.fixture(autouse=True)
def fixed_time_and_keys(settings, tmp_path, monkeypatch):
    monkeypatch.delenv(crypto.ENV_KEYS, raising=False)
    settings.MEDERI_KEY_FILE = tmp_path / "keys" / "encryption.keys"
    clock = {"now": T}
    monkeypatch.setattr(mfa, "now", lambda: clock["now"])
    return clock


@pytest.fixture
def doctor(db):
    services.ensure_default_roles()
    return services.create_staff_user("drmfa", PASSWORD, "Dee Factor", roles=["physician"])


def code_at(secret: str, moment: float) -> str:
    return mfa.totp(mfa.secret_bytes(secret), moment)


def enrolled(user, last_used_step=0) -> str:
    secret = mfa.new_secret()
    MfaDevice.objects.create(user=user, secret=secret, confirmed=True, last_used_step=last_used_step)
    return secret


def sign_in(client, username=None, password=PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


# RFC 6238 appendix B, SHA-1 rows: the 20-byte ASCII seed "12345678901234567890", 8 digits.
RFC6238_SHA1 = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize("moment,expected", RFC6238_SHA1)
def test_totp_matches_the_rfc_6238_sha1_vectors(moment, expected):
    assert mfa.totp(b"12345678901234567890", moment, digits=8, digest=hashlib.sha1) == expected
    assert mfa.totp(b"12345678901234567890", moment) == expected[-6:]


def test_hotp_matches_the_rfc_4226_vectors():
    expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
    assert [mfa.hotp(b"12345678901234567890", counter) for counter in range(10)] == expected


def test_secrets_are_base32_of_160_bits():
    secret = mfa.new_secret()
    assert len(mfa.secret_bytes(secret)) == 20
    assert mfa.new_secret() != secret


@given(st.text(max_size=12))
def test_only_six_digits_are_taken_as_a_code(text):
    code = mfa.normalise_code(text)
    digits = "".join(ch for ch in text if ch not in " -\t")
    if code is not None:
        assert len(code) == 6 and code.isascii() and code.isdigit() and code == digits
    else:
        assert not (len(digits) == 6 and all("0" <= ch <= "9" for ch in digits))


def test_typed_codes_may_carry_spaces():
    assert mfa.normalise_code(" 123 456 ") == "123456"
    assert mfa.normalise_code("12345") is None and mfa.normalise_code("12345a") is None


def test_enrolment_then_sign_in_with_a_code(doctor):
    client = Client()
    response = sign_in(client, "drmfa")
    assert response.status_code == 302 and response["Location"] == "/accounts/mfa/enrol/"
    assert "_auth_user_id" not in client.session

    page = client.get("/accounts/mfa/enrol/")
    assert page.status_code == 200
    secret = MfaDevice.objects.get(user=doctor).secret
    text = page.content.decode()
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    assert grouped in text
    assert f"otpauth://totp/Mederi:drmfa?secret={secret}" in text.replace("&amp;", "&")
    assert 'src="data:image/svg+xml;base64,' in text
    assert client.get("/accounts/mfa/enrol/").content.decode().count(grouped) == 1  # a reload keeps the key

    response = client.post("/accounts/mfa/enrol/", {"code": code_at(secret, T)})
    assert response.status_code == 302 and response["Location"] == "/"
    assert MfaDevice.objects.get(user=doctor).confirmed
    enrolled = AuditEntry.objects.filter(action="mfa-change").get()
    assert (enrolled.actor_name, json.loads(enrolled.detail)) == ("drmfa", {"user": "drmfa", "enrolled": True})
    page = client.get("/")
    assert page.status_code == 200 and b"Dee Factor" in page.content

    # The next sign-in asks for a code, and a fresh one lets the person in.
    client.post("/accounts/logout/")
    later = Client()
    response = sign_in(later, "drmfa")
    assert response.status_code == 302 and response["Location"] == "/accounts/mfa/"
    assert later.get("/accounts/mfa/").status_code == 200
    response = later.post("/accounts/mfa/", {"code": code_at(secret, T + 30)})
    assert response.status_code == 302 and response["Location"] == "/"
    assert later.get("/").status_code == 200


def test_a_wrong_code_during_enrolment_leaves_the_device_unconfirmed(doctor):
    client = Client()
    sign_in(client, "drmfa")
    client.get("/accounts/mfa/enrol/")
    secret = MfaDevice.objects.get(user=doctor).secret
    wrong = f"{(int(code_at(secret, T)) + 1) % 1_000_000:06d}"
    response = client.post("/accounts/mfa/enrol/", {"code": wrong})
    assert response.status_code == 200 and b"That code is not right" in response.content
    assert not MfaDevice.objects.get(user=doctor).confirmed
    assert client.get("/").status_code == 302


def test_a_wrong_code_is_refused_with_a_clear_message_and_no_session(doctor):
    secret = enrolled(doctor)
    client = Client()
    sign_in(client, "drmfa")
    wrong = f"{(int(code_at(secret, T)) + 1) % 1_000_000:06d}"
    response = client.post("/accounts/mfa/", {"code": wrong})
    assert response.status_code == 200
    assert b"That code is not right" in response.content and b"after 5 wrong codes" in response.content
    assert "_auth_user_id" not in client.session
    response = client.post("/accounts/mfa/", {"code": "abc"})
    assert b"Enter the 6 digits" in response.content
    assert "_auth_user_id" not in client.session


def test_a_replayed_code_is_refused(doctor):
    secret = enrolled(doctor)
    code = code_at(secret, T)
    first = Client()
    sign_in(first, "drmfa")
    assert first.post("/accounts/mfa/", {"code": code})["Location"] == "/"

    second = Client()
    sign_in(second, "drmfa")
    response = second.post("/accounts/mfa/", {"code": code})
    assert response.status_code == 200 and b"already been used" in response.content
    assert "_auth_user_id" not in second.session


def test_one_step_of_clock_drift_is_accepted_and_two_are_not(doctor, fixed_time_and_keys):
    secret = enrolled(doctor)
    device = MfaDevice.objects.get(user=doctor)
    assert mfa.check_code(device, code_at(secret, T + 60)) == mfa.WRONG
    assert mfa.check_code(device, code_at(secret, T - 30)) == mfa.OK
    assert mfa.check_code(device, code_at(secret, T + 30)) == mfa.OK
    # After the step ahead was used, the current step's code is older: refused as a replay.
    assert mfa.check_code(device, code_at(secret, T)) == mfa.REUSED
    assert MfaDevice.objects.get(user=doctor).last_used_step == mfa.step_at(T + 30)


def test_a_pending_sign_in_cannot_reach_the_pages(doctor):
    enrolled(doctor)
    client = Client()
    sign_in(client, "drmfa")
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/mfa/"
    assert "_auth_user_id" not in client.session


def test_until_enrolled_every_page_leads_to_enrolment(doctor):
    client = Client()
    sign_in(client, "drmfa")
    for path in ("/", "/fhir/R4/Patient"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/accounts/mfa/enrol/"
    assert client.get("/accounts/mfa/").status_code == 302  # the code page sends them to enrol too


def test_five_wrong_codes_end_the_sign_in_and_lock_the_account(doctor):
    secret = enrolled(doctor)
    client = Client()
    sign_in(client, "drmfa")
    wrong = f"{(int(code_at(secret, T)) + 1) % 1_000_000:06d}"
    responses = [client.post("/accounts/mfa/", {"code": wrong}) for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]
    assert b"Account locked" in responses[-1].content
    # The pending sign-in is over: even the right code does not sign in now.
    response = client.post("/accounts/mfa/", {"code": code_at(secret, T)})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    # And the password is refused until the lockout ends, like after 5 wrong passwords.
    assert sign_in(Client(), "drmfa").status_code == 429


def test_a_pending_sign_in_expires(doctor, fixed_time_and_keys):
    secret = enrolled(doctor)
    client = Client()
    sign_in(client, "drmfa")
    fixed_time_and_keys["now"] = T + 301
    response = client.post("/accounts/mfa/", {"code": code_at(secret, T + 301)})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


def test_staff_without_mfa_required_sign_in_with_the_password_alone(db):
    services.ensure_default_roles()
    services.create_staff_user("desk", PASSWORD, "Des K", roles=["front_desk"], mfa_required=False)
    client = Client()
    response = sign_in(client, "desk")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_patients_sign_in_with_the_password_alone(db):
    services.create_patient_user("pat", PASSWORD, patient_id="example")
    client = Client()
    response = sign_in(client, "pat")
    assert response.status_code == 302 and response["Location"] == "/"
    assert "_auth_user_id" in client.session


def test_the_secret_is_stored_encrypted(doctor):
    secret = enrolled(doctor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_mfa_device WHERE user_id = %s", [doctor.pk])
        raw = cursor.fetchone()[0]
    assert secret not in raw and binascii.b2a_hex(mfa.secret_bytes(secret)).decode() not in raw
    assert crypto.decrypt(raw) == secret
