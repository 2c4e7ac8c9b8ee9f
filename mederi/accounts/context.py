"""The `Context` of a request: who is asking, with which permissions, for which patient.

Built from a signed-in session (the web pages) or an OAuth bearer token (the FHIR API). What
it is built from (roles, grants, tokens, restricted records) changes rarely and is read on
every request, so the result is cached per process until the security epoch moves; any change
to those tables raises the epoch in the same transaction, so a revocation is seen at once.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import replace

from django.db import connection
from django.db.models import Min
from django.utils import timezone

from mederi.accounts.models import EmergencyAccess, LaunchContext, Profile
from mederi.accounts.permissions import PATIENT_PERMISSIONS
from mederi.accounts.selectors import permissions_for, role_names
from mederi.core import epoch
from mederi.core.context import Context

_lock = threading.Lock()
_cache: dict[str, tuple[Context, object]] = {}  # token checksum -> (context without address, expiry)
_cache_epoch = -1


def _profile(user) -> Profile | None:
    try:
        return user.profile
    except Profile.DoesNotExist:
        return None


def _emergency_patients(user) -> frozenset[str]:
    now = timezone.now()
    return frozenset(EmergencyAccess.objects.filter(user=user, expires__gt=now, ended__isnull=True)
                     .values_list("patient_id", flat=True))


def context_for_user(user, remote_addr: str | None = None, *, scopes=None, patient_id: str | None = None,
                     client_id: str | None = None, location_id: str | None = None) -> Context:
    """The context of a person (or a backend service's account) acting now, at `location_id`."""
    if user is None or not user.is_active:
        return Context(remote_addr=remote_addr, client_id=client_id, scopes=scopes, user_name="anonymous")
    profile = _profile(user)
    if profile is not None and profile.kind == Profile.PATIENT:
        permissions, role, patient_id, location_id = PATIENT_PERMISSIONS, "patient", profile.patient_id, None
    else:
        permissions = permissions_for(user, location_id)
        role = ", ".join(role_names(user, location_id)) or None
    return Context(user_id=user.pk, user_name=user.get_username(), role=role, permissions=permissions,
                   patient_id=patient_id or None, scopes=scopes, remote_addr=remote_addr, client_id=client_id,
                   emergency_patients=_emergency_patients(user), location_id=location_id or None)


def permissions_for_request(request) -> frozenset[str]:
    """What the signed-in person of a web page may do where they work now."""
    from mederi.accounts import working_location

    return permissions_for(request.user, working_location.of_request(request))


def context_for_request(request) -> Context:
    """The signed-in person of a web page, at the location they chose to work at."""
    from mederi.accounts import working_location
    from mederi.accounts.signals import remote_addr

    return context_for_user(request.user, remote_addr(request), location_id=working_location.of_request(request))


def token_checksum(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


def _context_for_token(checksum: str) -> tuple[Context, object] | None:
    from oauth2_provider.models import AccessToken

    token = (AccessToken.objects.select_related("user", "application", "application__user")
             .filter(token_checksum=checksum).first())
    if token is None or token.is_expired():
        return None
    application = token.application
    user = token.user or (application.user if application is not None else None)
    launch = LaunchContext.objects.filter(access_token=token).first()
    context = context_for_user(user, scopes=frozenset(token.scope.split()),
                               patient_id=(launch.patient_id or None) if launch is not None else None,
                               location_id=(launch.location_id or None) if launch is not None else None,
                               client_id=application.client_id if application else None)
    if context.user_id is None:
        return None
    # A break-the-glass grant ending is a moment, not a change: the cached context ends with it.
    soonest = EmergencyAccess.objects.filter(user=user, expires__gt=timezone.now(), ended__isnull=True).aggregate(
        soonest=Min("expires"))["soonest"]
    return context, min(token.expires, soonest) if soonest else token.expires


def context_for_token(raw_token: str, remote_addr: str | None = None) -> Context | None:
    """The context an access token stands for; None when it is unknown, expired or revoked."""
    global _cache_epoch
    checksum = token_checksum(raw_token)
    current = epoch.current()
    with _lock:
        if current != _cache_epoch:
            _cache.clear()
            _addressed.clear()
            _cache_epoch = current
        found = _cache.get(checksum)
    if found is None:
        found = _context_for_token(checksum)
        if found is None:
            return None
        if not connection.in_atomic_block:  # a transaction may still roll its epoch back
            with _lock:
                if _cache_epoch == current:
                    _cache[checksum] = found
    context, valid_until = found
    if valid_until <= timezone.now():
        with _lock:
            _cache.pop(checksum, None)
        found = _context_for_token(checksum)  # the token may outlive a grant that just ended
        if found is None:
            return None
        return _with_address(found[0], remote_addr)
    return _addressed_context(checksum, context, remote_addr)


# token checksum -> {address: (cached context, the same with that address)}: a client calls from
# one or a few addresses, and copying a frozen Context on every request cost more than the lookup.
_addressed: dict[str, dict[str | None, tuple[Context, Context]]] = {}


def _addressed_context(checksum: str, context: Context, remote_addr: str | None) -> Context:
    by_address = _addressed.get(checksum) or {}
    found = by_address.get(remote_addr)
    if found is not None and found[0] is context:  # made from this very cached context
        return found[1]
    addressed = _with_address(context, remote_addr)
    if len(by_address) >= 16:
        by_address = {}
    with _lock:
        _addressed[checksum] = {**by_address, remote_addr: (context, addressed)}
    return addressed


def _with_address(context: Context, remote_addr: str | None) -> Context:
    return replace(context, remote_addr=remote_addr) if remote_addr else context
