"""Encryption of small secrets kept in the database (MFA secrets, client secrets).

Values are encrypted with Fernet (AES-128-CBC with HMAC-SHA256) through `MultiFernet`, so a
value encrypted with an older key still decrypts while that key is configured, and new values
always use the newest key.

The keys never live in the database. They come from, in this order:

- the environment variable `MEDERI_ENCRYPTION_KEYS`: comma-separated, newest first;
- the key file `settings.MEDERI_KEY_FILE` (default `var/keys/encryption.keys`): one key a line,
  newest first. It is created, readable by its owner only (0600, in a 0700 folder), with a fresh
  key the first time a value is encrypted.

Rotation: `mederi keys new` puts a new key first; `mederi keys rotate` re-encrypts every stored
value with it; after that the old key lines can be removed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import tempfile
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import connections, models, router, transaction

ENV_KEYS = "MEDERI_ENCRYPTION_KEYS"


class KeyNotConfigured(Exception):
    """A stored value cannot be decrypted with any configured key."""


class KeysFromEnvironment(Exception):
    """The keys are set in the environment, so the key file is not the place to change them."""


def key_file() -> Path:
    return Path(getattr(settings, "MEDERI_KEY_FILE", Path(settings.VAR_DIR) / "keys" / "encryption.keys"))


def _parse(text: str, separator: str) -> list[bytes]:
    return [part.strip().encode("ascii") for part in text.split(separator) if part.strip()]


def _write_private(path: Path, text: str, *, replace: bool) -> bool:
    """Write `text` to `path` readable by the owner only. Without `replace`, never overwrite an
    existing file (another process may have created it first): returns False then."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".keys-")  # created 0600
    try:
        with os.fdopen(handle, "w", encoding="ascii") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(temp, path)
            return True
        try:
            os.link(temp, path)  # atomic: fails if the file appeared meanwhile
            return True
        except FileExistsError:
            return False
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def _file_keys(path: Path) -> list[bytes]:
    if not path.exists():
        _write_private(path, Fernet.generate_key().decode("ascii") + "\n", replace=False)
    return _parse(path.read_text(encoding="ascii"), "\n")


_cache_lock = threading.Lock()
_cache: dict[tuple, MultiFernet] = {}


def _fernet() -> MultiFernet:
    env = os.environ.get(ENV_KEYS, "").strip()
    if env:
        source: tuple = ("env", env)
    else:
        path = key_file()
        try:
            stat = path.stat()
            source = ("file", str(path), stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            source = ()
    with _cache_lock:
        cached = _cache.get(source) if source else None
        if cached is not None:
            return cached
    keys = _parse(env, ",") if env else _file_keys(key_file())
    if not keys:
        raise KeyNotConfigured(f"no encryption key is configured (set {ENV_KEYS} or fill {key_file()})")
    try:
        fernet = MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise KeyNotConfigured(f"a configured encryption key is malformed: {error}") from error
    if not env:
        stat = key_file().stat()
        source = ("file", str(key_file()), stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        _cache.clear()
        _cache[source] = fernet
    return fernet


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError) as error:
        raise KeyNotConfigured(
            "this value was encrypted with a key that is no longer configured "
            f"(check {ENV_KEYS} or {key_file()})"
        ) from error


def rotate(token: str) -> str:
    """The same value encrypted with the newest key."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError) as error:
        raise KeyNotConfigured(
            "this value was encrypted with a key that is no longer configured "
            f"(check {ENV_KEYS} or {key_file()})"
        ) from error


def new_key() -> Path:
    """Put a fresh key first in the key file; the older keys stay for decrypting."""
    if os.environ.get(ENV_KEYS, "").strip():
        raise KeysFromEnvironment(f"the keys come from {ENV_KEYS}: add the new key at its front instead")
    path = key_file()
    existing = _parse(path.read_text(encoding="ascii"), "\n") if path.exists() else []
    keys = [Fernet.generate_key()] + existing
    _write_private(path, "".join(key.decode("ascii") + "\n" for key in keys), replace=True)
    with _cache_lock:
        _cache.clear()
    return path


INDEX_KEY_ENV = "MEDERI_INDEX_KEY"


def index_key_file() -> Path:
    return key_file().with_name("index.key")


def blind_index(text: str) -> str:
    """A keyed digest of a sensitive value, so it can be searched for without being stored.

    The key is separate from the encryption keys and never rotates (changing it would mean
    rebuilding every index row): `MEDERI_INDEX_KEY`, or the 0600 file beside the key file.
    """
    key = os.environ.get(INDEX_KEY_ENV, "").strip().encode("ascii")
    if not key:
        path = index_key_file()
        if not path.exists():
            _write_private(path, base64.urlsafe_b64encode(os.urandom(32)).decode("ascii") + "\n", replace=False)
        key = path.read_text(encoding="ascii").strip().encode("ascii")
    return "hmac:" + hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:40]


class EncryptedTextField(models.TextField):
    """Text stored encrypted: the column holds a Fernet token, Python code sees the plain text.

    Lookups on the value itself cannot work (each encryption differs); filter on other columns.
    """

    description = "Text encrypted with the configured encryption keys"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)


def encrypted_fields():
    """(model, field) for every EncryptedTextField of every installed model."""
    from django.apps import apps

    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


def rotate_all() -> int:
    """Re-encrypt every stored encrypted value with the newest key; returns how many."""
    count = 0
    for model, field in encrypted_fields():
        alias = router.db_for_write(model)
        connection = connections[alias]
        quote = connection.ops.quote_name
        table, column, pk = quote(model._meta.db_table), quote(field.column), quote(model._meta.pk.column)
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.execute(f"SELECT {pk}, {column} FROM {table} WHERE {column} IS NOT NULL AND {column} <> ''")
            rows = cursor.fetchall()
            for key, token in rows:
                cursor.execute(f"UPDATE {table} SET {column} = %s WHERE {pk} = %s", [rotate(token), key])
            count += len(rows)
    return count
