"""Secrets in the database are encrypted with keys kept outside it, and keys can be rotated."""

import argparse
import stat

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mederi import cli
from mederi.accounts import services
from mederi.accounts.models import MfaDevice
from mederi.core import crypto


@pytest.fixture(autouse=True)
def key_file(settings, tmp_path, monkeypatch):
    monkeypatch.delenv(crypto.ENV_KEYS, raising=False)
    settings.MEDERI_KEY_FILE = tmp_path / "keys" / "encryption.keys"
    return settings.MEDERI_KEY_FILE


def use_keys(monkeypatch, *keys: bytes):
    monkeypatch.setenv(crypto.ENV_KEYS, ",".join(k.decode() for k in keys))


def test_a_value_round_trips_and_the_token_does_not_show_it():
    token = crypto.encrypt("JBSWY3DPEHPK3PXP")
    assert "JBSWY3DPEHPK3PXP" not in token
    assert crypto.decrypt(token) == "JBSWY3DPEHPK3PXP"
    assert crypto.encrypt("JBSWY3DPEHPK3PXP") != token  # every encryption differs


@hsettings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text())
def test_any_text_round_trips(text):
    assert crypto.decrypt(crypto.encrypt(text)) == text


def test_the_key_file_is_created_private_with_one_key(key_file):
    assert not key_file.exists()
    crypto.encrypt("x")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    lines = key_file.read_text().split()
    assert len(lines) == 1
    Fernet(lines[0].encode())  # a valid key


def test_a_new_key_is_put_first_and_old_values_still_decrypt(key_file):
    old_token = crypto.encrypt("old secret")
    old_key = key_file.read_text().split()[0]
    crypto.new_key()
    keys = key_file.read_text().split()
    assert len(keys) == 2 and keys[1] == old_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert crypto.decrypt(old_token) == "old secret"
    new_token = crypto.encrypt("new secret")
    assert Fernet(keys[0].encode()).decrypt(new_token.encode()) == b"new secret"


def test_rotation_re_encrypts_with_the_newest_key_while_the_old_one_is_configured(monkeypatch):
    old, new = Fernet.generate_key(), Fernet.generate_key()
    use_keys(monkeypatch, old)
    token = crypto.encrypt("rotate me")
    use_keys(monkeypatch, new, old)
    assert crypto.decrypt(token) == "rotate me"
    rotated = crypto.rotate(token)
    use_keys(monkeypatch, new)  # the old key is retired
    assert crypto.decrypt(rotated) == "rotate me"
    with pytest.raises(crypto.KeyNotConfigured):
        crypto.decrypt(token)


def test_a_value_whose_key_is_gone_gives_a_clear_error(monkeypatch):
    use_keys(monkeypatch, Fernet.generate_key())
    token = crypto.encrypt("lost")
    use_keys(monkeypatch, Fernet.generate_key())
    with pytest.raises(crypto.KeyNotConfigured, match="encrypted with a key that is no longer configured"):
        crypto.decrypt(token)


def test_keys_new_refuses_when_the_keys_come_from_the_environment(monkeypatch, capsys):
    use_keys(monkeypatch, Fernet.generate_key())
    assert cli.cmd_keys_new(argparse.Namespace()) == 2
    assert "MEDERI_ENCRYPTION_KEYS" in capsys.readouterr().err


def raw_secret(user_id) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_mfa_device WHERE user_id = %s", [user_id])
        return cursor.fetchone()[0]


def test_the_database_holds_only_ciphertext_and_keys_rotate_re_encrypts_it(db, key_file, capsys):
    user = services.create_staff_user("keyed", "correct-horse-battery-9", "Kay Ed")
    MfaDevice.objects.create(user=user, secret="GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
    before = raw_secret(user.pk)
    assert "GEZDGNBVGY3TQOJQ" not in before
    assert MfaDevice.objects.get(user=user).secret == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

    assert cli.cmd_keys_new(argparse.Namespace()) == 0
    assert cli.cmd_keys_rotate(argparse.Namespace()) == 0
    assert "re-encrypted 1 values and" in capsys.readouterr().out
    after = raw_secret(user.pk)
    assert after != before and "GEZDGNBVGY3TQOJQ" not in after
    newest = key_file.read_text().split()[0]
    assert Fernet(newest.encode()).decrypt(after.encode()) == b"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

    # With only the newest key left, the rotated value still reads.
    key_file.write_text(newest + "\n")
    assert MfaDevice.objects.get(user=user).secret == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
