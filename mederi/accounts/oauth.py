"""SMART on FHIR over django-oauth-toolkit: scopes, launch context, asymmetric client auth.

- Scopes are SMART's (`patient/Observation.rs`, `user/*.cruds`, v1 `patient/*.read`, `launch`,
  `launch/patient`, `offline_access`, `online_access`): people's apps get patient/ and user/
  scopes, backend services system/ scopes only, and an administrator can narrow a client to a
  list. At authorisation the granted scopes are cut down to what the person's roles allow.
- The patient picked (standalone launch) or handed over (EHR launch) rides with the code into
  the tokens (`LaunchContext`) and is returned beside the access token as `patient`.
- Backend services authenticate with a signed JWT (`private_key_jwt`, RS384 or ES384) checked
  against keys registered with the client or fetched from its JWKS URL; each `jti` once.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import jwt
import requests
from django.db import IntegrityError, transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes
from oauthlib.oauth2 import Server

from mederi.accounts.context import context_for_user, token_checksum
from mederi.accounts.models import ClientProfile, LaunchContext, UsedAssertion
from mederi.audit import services as audit
from mederi.core import epoch
from mederi.fhir import access

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("RS384", "ES384")
MAX_ASSERTION_LIFETIME = 300  # seconds: SMART Backend Services allows at most five minutes
JWKS_CACHE_SECONDS = 300

CONTEXT_SCOPES = {
    "launch": "Open from inside Mederi with the chart's context",
    "launch/patient": "Know which patient you chose",
    "offline_access": "Stay connected after you sign out (refresh token)",
    "online_access": "Stay connected while you are signed in (refresh token)",
}
IGNORED_SCOPES = {"openid", "fhirUser", "profile"}  # accepted in requests, not granted: no OpenID Connect yet
# SMART v2 letters and the interactions (and words on the consent screen) they stand for.
_LETTER_WORDS = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}


def describe_scope(scope: str) -> str:
    """What a scope lets an app do, in words a patient or clinician understands."""
    if scope in CONTEXT_SCOPES:
        return CONTEXT_SCOPES[scope]
    parsed = access.parse_scope(scope)
    if parsed is None:
        return scope
    level, resource_type, letters = parsed
    whose = {"patient": "the chosen patient's", "user": "every record you can see:", "system": "all"}[level]
    what = "all kinds of records" if resource_type == "*" else f"{resource_type} records"
    verbs = ", ".join(_LETTER_WORDS[c] for c in letters)
    return f"{verbs.capitalize()} {whose} {what}"


class _Descriptions(dict):
    def __missing__(self, scope):
        return describe_scope(scope)


class SmartScopes(BaseScopes):
    def get_all_scopes(self):
        return _Descriptions(CONTEXT_SCOPES)

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        return list(CONTEXT_SCOPES)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return []


def profile_of(application) -> ClientProfile:
    profile = ClientProfile.objects.filter(application=application).first()
    return profile or ClientProfile(application=application)


def scope_allowed(scope: str, profile: ClientProfile) -> bool:
    """Whether a client may ask for `scope` at all (before the person's permissions narrow it)."""
    parsed = access.parse_scope(scope)
    backend = profile.kind == ClientProfile.BACKEND
    if parsed is None:
        if backend or not (scope in CONTEXT_SCOPES or scope in IGNORED_SCOPES):
            return False
    elif (parsed[0] == "system") != backend:
        return False
    allowed = profile.allowed_scopes.split()
    return not allowed or scope in allowed or scope in IGNORED_SCOPES


def narrow_scopes(scopes: list[str], permissions: frozenset[str]) -> list[str]:
    """The scopes to grant: resource scopes cut down to what the person's roles allow."""
    granted = []
    for scope in scopes:
        if scope in IGNORED_SCOPES:
            continue
        parsed = access.parse_scope(scope)
        if parsed is None or parsed[1] == "*":  # a wildcard is intersected on every request
            granted.append(scope)
            continue
        level, resource_type, letters = parsed
        kept = "".join(c for c in letters if access.permission_for(resource_type, _LETTER_WORDS[c]) in permissions)
        if kept:
            granted.append(f"{level}/{resource_type}.{kept}")
    return granted




class SmartValidator(OAuth2Validator):
    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        profile = profile_of(client)
        return bool(scopes) and all(scope_allowed(scope, profile) for scope in scopes)

    # -- client authentication -------------------------------------------------------------------

    def client_authentication_required(self, request, *args, **kwargs):
        if getattr(request, "client_assertion_type", None):
            return True
        return super().client_authentication_required(request, *args, **kwargs)

    def authenticate_client(self, request, *args, **kwargs):
        if getattr(request, "client_assertion_type", None) or getattr(request, "client_assertion", None):
            return self._authenticate_assertion(request)
        return super().authenticate_client(request, *args, **kwargs)

    def _authenticate_assertion(self, request) -> bool:
        # The assertion's audience is this token endpoint's absolute URL, as the client sees it.
        token_url = self.build_http_request(request).build_absolute_uri(request.uri.split("?")[0])
        application = verify_client_assertion(
            getattr(request, "client_assertion_type", None), getattr(request, "client_assertion", None),
            token_url, request.client_id,
        )
        if application is None:
            return False
        request.client = application
        request.client_id = application.client_id
        return True

    # -- the launch context ----------------------------------------------------------------------

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        super().save_authorization_code(client_id, code, request, *args, **kwargs)
        patient_id = getattr(request, "launch_patient", None)
        location_id = getattr(request, "launch_location", None)
        if patient_id or location_id:
            LaunchContext.objects.create(grant_code=token_checksum(code["code"]), patient_id=patient_id or "",
                                         location_id=location_id or "")

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        valid = super().validate_code(client_id, code, client, request, *args, **kwargs)
        if valid:
            _carry_launch(request, LaunchContext.objects.filter(grant_code=token_checksum(code)).first())
        return valid

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        if valid:
            _carry_launch(request, LaunchContext.objects.filter(refresh_token=request.refresh_token_instance).first())
        return valid

    def _save_bearer_token(self, token, request, *args, **kwargs):
        super()._save_bearer_token(token, request, *args, **kwargs)
        access_token = AccessToken.objects.filter(token_checksum=token_checksum(token["access_token"])).first()
        refresh = token.get("refresh_token")
        refresh_token = RefreshToken.objects.filter(token_checksum=token_checksum(refresh)).first() if refresh else None
        patient_id = getattr(request, "launch_patient", None)
        location_id = getattr(request, "launch_location", None)
        if (patient_id or location_id) and access_token is not None:
            LaunchContext.objects.create(access_token=access_token, refresh_token=refresh_token,
                                         patient_id=patient_id or "", location_id=location_id or "")
        user = access_token.user if access_token else None
        if user is None and request.client is not None:
            user = request.client.user
        audit.record(context_for_user(user), "token-issue", patient_id=patient_id,
                     detail={"client": request.client.client_id if request.client else None,
                             "grant": request.grant_type, "scope": token.get("scope", "")})

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        found = AccessToken.objects.filter(token_checksum=token_checksum(token)).select_related("user").first()
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        epoch.bump()
        audit.record(context_for_user(found.user if found else None), "token-revoke",
                     detail={"client": request.client.client_id if request.client else None,
                             "hint": token_type_hint or ""})


def _carry_launch(request, launch: LaunchContext | None) -> None:
    """The patient and working location of an authorisation, on to the tokens it yields."""
    request.launch_patient = (launch.patient_id or None) if launch else None
    request.launch_location = (launch.location_id or None) if launch else None


def _launch_context(token, token_handler, request):
    """SMART's launch context beside the access token; refresh tokens only when asked for."""
    patient_id = getattr(request, "launch_patient", None)
    if patient_id:
        token["patient"] = patient_id
        token["need_patient_banner"] = True
    scopes = token.get("scope", "").split()
    if "refresh_token" in token and not ({"offline_access", "online_access"} & set(scopes)):
        del token["refresh_token"]
    return token


class SmartServer(Server):
    def __init__(self, request_validator, *args, **kwargs):
        super().__init__(request_validator, *args, **kwargs)
        self.auth_grant.register_token_modifier(_launch_context)
        self.refresh_grant.register_token_modifier(_launch_context)


# -- private_key_jwt ---------------------------------------------------------------------------------

_jwks_cache: dict[str, tuple[float, dict]] = {}


def _client_keys(profile: ClientProfile) -> list[dict]:
    if profile.jwks:
        return list(profile.jwks.get("keys") or [])
    if not profile.jwks_uri:
        return []
    cached = _jwks_cache.get(profile.jwks_uri)
    if cached and cached[0] > time.monotonic():
        return list(cached[1].get("keys") or [])
    try:
        response = requests.get(profile.jwks_uri, timeout=5, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError):
        return []
    _jwks_cache[profile.jwks_uri] = (time.monotonic() + JWKS_CACHE_SECONDS, document)
    return list(document.get("keys") or [])


def verify_client_assertion(assertion_type, assertion, token_url: str, claimed_client_id=None):
    """The Application a signed client assertion proves to be, or None."""
    if assertion_type != JWT_BEARER or not assertion:
        return None
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    client_id = claims.get("iss")
    if not client_id or claims.get("sub") != client_id or (claimed_client_id and claimed_client_id != client_id):
        return None
    if header.get("alg") not in ASSERTION_ALGORITHMS:
        return None
    application = Application.objects.filter(client_id=client_id).select_related("user").first()
    if application is None:
        return None
    keys = [k for k in _client_keys(profile_of(application))
            if not header.get("kid") or k.get("kid") == header.get("kid")]
    for key in keys:
        try:
            public_key = jwt.PyJWK(key, algorithm=header["alg"]).key
            verified = jwt.decode(assertion, public_key, algorithms=[header["alg"]], audience=token_url,
                                  options={"require": ["exp", "jti", "iss", "sub", "aud"]})
        except jwt.PyJWTError:
            continue
        if verified["exp"] - time.time() > MAX_ASSERTION_LIFETIME:
            return None
        expires = datetime.fromtimestamp(verified["exp"], tz=dt_timezone.utc)
        try:
            with transaction.atomic():
                UsedAssertion.objects.filter(expires__lt=timezone.now() - timedelta(minutes=5)).delete()
                UsedAssertion.objects.create(client_id=client_id, jti=str(verified["jti"]), expires=expires)
        except IntegrityError:
            return None  # a replayed assertion
        return application
    return None
