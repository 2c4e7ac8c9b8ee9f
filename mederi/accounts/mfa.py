"""Time-based one-time codes (TOTP, RFC 6238) as the second sign-in factor for staff.

Codes are 6 digits, HMAC-SHA-1, 30-second steps: what every authenticator app expects. A code
of the step before or after the current one is accepted (clock drift); a step that was used
once is never accepted again for the same device (replay).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

from django.conf import settings

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1

OK, WRONG, REUSED = "ok", "wrong", "reused"
ENROL, VERIFY = "enrol", "verify"


def now() -> float:
    """The current time in seconds; tests replace it to reason about steps."""
    return time.time()


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest=hashlib.sha1) -> str:
    """RFC 4226: the dynamically truncated HMAC of the 8-byte big-endian counter."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def step_at(moment: float) -> int:
    return int(moment // STEP_SECONDS)


def totp(key: bytes, moment: float, digits: int = DIGITS, digest=hashlib.sha1) -> str:
    """RFC 6238 with T0 = 0 and a 30-second step."""
    return hotp(key, step_at(moment), digits, digest)


def new_secret() -> str:
    """160 random bits as unpadded base32, the form authenticator apps take."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def secret_bytes(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def provisioning_uri(secret: str, account: str) -> str:
    issuer = getattr(settings, "MEDERI_MFA_ISSUER", "Mederi")
    label = quote(f"{issuer}:{account}", safe=":@")
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS,
                       "period": STEP_SECONDS})
    return f"otpauth://totp/{label}?{query}"


def qr_data_uri(text: str) -> str:
    """The text as a QR code in an SVG data URI, or "" when the `qrcode` package is absent."""
    try:
        import qrcode
        from qrcode.image.svg import SvgPathImage
    except ImportError:  # pragma: no cover - optional dependency
        return ""
    image = qrcode.make(text, image_factory=SvgPathImage, box_size=8, border=2)
    svg = image.to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def normalise_code(code: str) -> str | None:
    """The 6 digits a person typed, allowing spaces and dashes ("123 456"); None if not a code."""
    cleaned = "".join(ch for ch in (code or "") if ch not in " -\t")
    if len(cleaned) != DIGITS or not all("0" <= ch <= "9" for ch in cleaned):
        return None
    return cleaned


def check_code(device, code: str, moment: float | None = None) -> str:
    """OK (and the step is marked used), REUSED or WRONG for a code typed for `device`."""
    from mederi.accounts.models import MfaDevice

    cleaned = normalise_code(code)
    if cleaned is None:
        return WRONG
    moment = now() if moment is None else moment
    key = secret_bytes(device.secret)
    current = step_at(moment)
    reused = False
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if not hmac.compare_digest(hotp(key, step), cleaned):
            continue
        if step <= device.last_used_step:
            reused = True
            continue
        # Conditional update: of two requests with the same code, only one wins.
        if MfaDevice.objects.filter(pk=device.pk, last_used_step__lt=step).update(last_used_step=step):
            device.last_used_step = step
            return OK
        reused = True
    return REUSED if reused else WRONG


def requirement(user) -> str | None:
    """What a user must do after a correct password: ENROL, VERIFY, or nothing (None).

    Staff with a confirmed device always verify a code; staff who must use MFA and have no device
    yet enrol one. Patients, and staff with `mfa_required` off and no device, use the password alone.
    """
    from mederi.accounts.models import MfaDevice, Profile

    profile = Profile.objects.filter(user=user).first()
    if profile is None or profile.kind != Profile.STAFF:
        return None
    if MfaDevice.objects.filter(user=user, confirmed=True).exists():
        return VERIFY
    return ENROL if profile.mfa_required else None


# The sign-in between a correct password and a correct code, kept in the session.
PENDING = "mederi_mfa_pending"


def begin(request, user, next_url: str, step: str) -> None:
    request.session.cycle_key()
    request.session[PENDING] = {
        "user": user.pk,
        "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[-1]),
        "step": step,
        "started": now(),
        "failures": 0,
        "next": next_url,
    }


def pending(request) -> dict | None:
    """The pending sign-in of this session, or None (also once it is older than allowed)."""
    state = request.session.get(PENDING)
    if not state:
        return None
    if now() - state.get("started", 0) > getattr(settings, "MEDERI_MFA_PENDING_SECONDS", 300):
        request.session.pop(PENDING, None)
        return None
    return state


def end(request) -> None:
    request.session.pop(PENDING, None)


def confirm_device(device, request) -> None:
    """The first code verified: the authenticator is in use from now on, and the log says so."""
    from django.db import transaction

    from mederi.accounts.signals import context_for
    from mederi.audit import services as audit

    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit.record(context_for(device.user, request), "mfa-change",
                     detail={"user": device.user.get_username(), "enrolled": True})
