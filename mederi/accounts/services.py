"""Writes about users and roles."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mederi.accounts.context import context_for_user
from mederi.accounts.models import LaunchContext, Profile, Role, RoleAssignment
from mederi.accounts.permissions import DEFAULT_ROLES, all_permissions
from mederi.audit import services as audit
from mederi.core import epoch
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, Issue, MederiError

User = get_user_model()


def _has_an_administrator() -> bool:
    managing = [role.pk for role in Role.objects.all() if "accounts.manage" in role.permissions]
    return RoleAssignment.objects.filter(role_id__in=managing, user__is_active=True).exists()


class _KeepsAnAdministrator:
    """Refuse a change that would leave nobody able to manage accounts (the practice would be
    locked out of its own administration): checked inside the change's transaction."""

    def __enter__(self):
        self.before = _has_an_administrator()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None and self.before and not _has_an_administrator():
            raise InvalidRequest.single("this would leave nobody able to manage accounts; give another active "
                                        "user the practice administrator role first")


def _audit_role_change(actor: Context | None, detail: dict) -> None:
    """A change of who may do what: one `role-change` entry, in the caller's transaction."""
    audit.record(actor or Context.system("accounts"), "role-change", detail=detail)
    epoch.bump()


def ensure_default_roles() -> list[Role]:
    """Create the shipped roles, or bring them back in step with the code."""
    roles = []
    for definition in DEFAULT_ROLES:
        role, _ = Role.objects.update_or_create(
            slug=definition.slug,
            defaults={"name": definition.name, "description": definition.description,
                      "permissions": sorted(definition.permissions), "builtin": True},
        )
        roles.append(role)
    return roles


def _check_permissions(codes) -> list[str]:
    known = all_permissions()
    unknown = sorted(set(codes) - set(known))
    if unknown:
        raise InvalidRequest.single(f"unknown permissions: {', '.join(unknown)}")
    return sorted(set(codes))


@transaction.atomic
def create_role(slug: str, name: str, permissions, description: str = "", actor: Context | None = None) -> Role:
    """An administrator's own role, e.g. a front desk that may also post copays."""
    if Role.objects.filter(slug=slug).exists():
        raise InvalidRequest.single(f"a role '{slug}' exists already")
    role = Role.objects.create(slug=slug, name=name, description=description,
                               permissions=_check_permissions(permissions), builtin=False)
    _audit_role_change(actor, {"role": slug, "created": True, "permissions": role.permissions})
    return role


@transaction.atomic
def update_role(role: Role, permissions, actor: Context | None = None) -> Role:
    if role.builtin:
        raise InvalidRequest.single(f"'{role.name}' is a shipped role; copy it into a new role to change it")
    before = set(role.permissions)
    role.permissions = _check_permissions(permissions)
    after = set(role.permissions)
    if after != before:
        with _KeepsAnAdministrator():
            role.save(update_fields=["permissions"])
        _audit_role_change(actor, {"role": role.slug, "added": sorted(after - before),
                                   "removed": sorted(before - after)})
    return role


def _checked_password(password: str, user=None) -> str:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise MederiError([Issue(message, code="value") for message in error.messages]) from error
    return password


def _new_user(username: str, password: str, full_name: str):
    if User.objects.filter(username=username).exists():
        raise InvalidRequest.single(f"the username '{username}' is taken")
    user = User(username=username, first_name=full_name[:150])
    user.set_password(_checked_password(password, user))
    user.save()
    return user


@transaction.atomic
def create_staff_user(username: str, password: str, full_name: str, roles=(), practitioner_id: str = "",
                      mfa_required: bool = True, actor: Context | None = None):
    """A staff member with roles: `roles` holds role slugs, or (slug, location_id) pairs."""
    user = _new_user(username, password, full_name)
    Profile.objects.create(user=user, kind=Profile.STAFF, full_name=full_name, practitioner_id=practitioner_id,
                           mfa_required=mfa_required)
    for entry in roles:
        slug, location_id = (entry, "") if isinstance(entry, str) else entry
        assign_role(user, slug, location_id, actor=actor)
    return user


@transaction.atomic
def create_patient_user(username: str, password: str, patient_id: str, full_name: str = ""):
    user = _new_user(username, password, full_name)
    Profile.objects.create(user=user, kind=Profile.PATIENT, full_name=full_name, patient_id=patient_id,
                           mfa_required=False)
    return user


@transaction.atomic
def assign_role(user, role_slug: str, location_id: str = "", actor: Context | None = None) -> RoleAssignment:
    role = Role.objects.filter(slug=role_slug).first()
    if role is None:
        raise InvalidRequest.single(f"there is no role '{role_slug}'")
    assignment, created = RoleAssignment.objects.get_or_create(user=user, role=role, location_id=location_id)
    if created:
        _audit_role_change(actor, {"user": user.get_username(), "assigned": role_slug, "location": location_id})
    return assignment


@transaction.atomic
def remove_role(user, role_slug: str, location_id: str = "", actor: Context | None = None) -> None:
    with _KeepsAnAdministrator():
        removed, _ = RoleAssignment.objects.filter(user=user, role__slug=role_slug, location_id=location_id).delete()
    if removed:
        _audit_role_change(actor, {"user": user.get_username(), "removed": role_slug, "location": location_id})


@transaction.atomic
def deactivate_user(user, actor: Context | None = None) -> int:
    """Take away every access at once: the account, every session it has open, and every OAuth
    token issued to it or to the backend services it runs.

    Returns the number of sessions ended.
    """
    from oauth2_provider.models import AccessToken, RefreshToken

    with _KeepsAnAdministrator():
        user.is_active = False
        user.save(update_fields=["is_active"])
    ended = 0
    key = str(user.pk)
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == key:
            session.delete()
            ended += 1
    owned = Q(user=user) | Q(application__user=user)
    refresh_revoked = RefreshToken.objects.filter(owned, revoked__isnull=True).update(revoked=timezone.now())
    tokens_revoked, _ = AccessToken.objects.filter(owned).delete()
    epoch.bump()
    _audit_role_change(actor, {"user": user.get_username(), "deactivated": True, "sessions_ended": ended,
                               "tokens_revoked": tokens_revoked, "refresh_tokens_revoked": refresh_revoked})
    return ended


def issue_access_token(user, application, scope: str, patient_id: str | None = None,
                       lifetime: timedelta = timedelta(hours=1), location_id: str | None = None) -> str:
    """An access token made directly, without an OAuth flow: for `mederi token` (trying the API
    with curl) and for tests. Stored like every other token: as a SHA-256 checksum only."""
    from oauth2_provider.models import AccessToken, set_token_value

    raw = secrets.token_urlsafe(32)
    token = AccessToken(user=user, application=application, scope=scope, expires=timezone.now() + lifetime)
    set_token_value(token, raw)
    token.save()
    if patient_id or location_id:
        LaunchContext.objects.create(access_token=token, patient_id=patient_id or "", location_id=location_id or "")
    audit.record(context_for_user(user), "token-issue", detail={"client": application.client_id if application
                                                                      else None, "scope": scope, "direct": True})
    return raw


# -- administration: accounts and OAuth clients ------------------------------------------------

@transaction.atomic
def reactivate_user(user, actor: Context | None = None) -> None:
    """Let a deactivated person sign in again; their roles were kept, their old sessions and tokens were not."""
    if user.is_active:
        return
    user.is_active = True
    user.save(update_fields=["is_active"])
    _audit_role_change(actor, {"user": user.get_username(), "reactivated": True})


@transaction.atomic
def reset_mfa(user, actor: Context | None = None) -> bool:
    """Forget a person's authenticator (a lost phone): at their next sign-in they enrol a new one.

    Returns whether there was a device to forget.
    """
    from mederi.accounts.models import MfaDevice

    removed, _ = MfaDevice.objects.filter(user=user).delete()
    if removed:
        audit.record(actor or Context.system("accounts"), "mfa-change",
                     detail={"user": user.get_username(), "reset": True})
    return bool(removed)


def _audit_client_change(actor: Context | None, detail: dict) -> None:
    audit.record(actor or Context.system("accounts"), "client-change", detail=detail)
    epoch.bump()


def _scope_token_ok(token: str) -> bool:
    # RFC 6749 section 3.3: a scope token is printable ASCII without space, '"' or '\'.
    return all(0x21 <= ord(c) <= 0x7E and c not in '"\\' for c in token)


def _check_client(kind: str, client_type: str, redirect_uris: list[str], allowed_scopes: str, launch_uri: str,
                  jwks, jwks_uri: str, service_user) -> list[Issue]:
    from django.core.validators import URLValidator
    from oauth2_provider.models import Application

    from mederi.accounts.models import ClientProfile

    issues: list[Issue] = []
    url = URLValidator(schemes=["https", "http"])

    def check_url(value: str, label: str, expression: str) -> None:
        try:
            url(value)
        except ValidationError:
            issues.append(Issue(f"{label} '{value}' is not an http(s) address", expression=expression))
            return
        if "#" in value:
            issues.append(Issue(f"{label} '{value}' may not have a #fragment", expression=expression))

    if kind not in (ClientProfile.APP, ClientProfile.BACKEND):
        issues.append(Issue(f"'{kind}' is not a kind of client", expression="kind"))
    if client_type not in (Application.CLIENT_PUBLIC, Application.CLIENT_CONFIDENTIAL):
        issues.append(Issue(f"'{client_type}' is not a client type", expression="client_type"))
    if kind == ClientProfile.APP and not redirect_uris:
        issues.append(Issue("an app needs at least one redirect URI: where the browser returns after sign-in",
                            expression="redirect_uris"))
    for uri in redirect_uris:
        check_url(uri, "the redirect URI", "redirect_uris")
    if launch_uri:
        check_url(launch_uri, "the launch URI", "launch_uri")
    if jwks_uri:
        check_url(jwks_uri, "the JWKS URL", "jwks_uri")
    bad_scopes = [s for s in allowed_scopes.split() if not _scope_token_ok(s)]
    if bad_scopes:
        issues.append(Issue(f"not a scope: {' '.join(bad_scopes)}", expression="allowed_scopes"))
    if jwks is not None and not (isinstance(jwks, dict) and isinstance(jwks.get("keys"), list)
                                 and all(isinstance(key, dict) for key in jwks["keys"])):
        issues.append(Issue('the JWKS must be a JSON object with a "keys" list of keys', expression="jwks"))
    if kind == ClientProfile.BACKEND:
        if client_type != Application.CLIENT_CONFIDENTIAL:
            issues.append(Issue("a backend service authenticates itself, so it must be a confidential client",
                                expression="client_type"))
        if jwks is None and not jwks_uri:
            issues.append(Issue("a backend service needs its public keys: paste its JWKS or give its JWKS URL",
                                expression="jwks"))
        if service_user is None:
            issues.append(Issue("a backend service needs a service account: its roles are what the service may do",
                                expression="service_user"))
        elif not service_user.is_active:
            issues.append(Issue(f"the service account '{service_user.get_username()}' is deactivated",
                                expression="service_user"))
    return issues


@transaction.atomic
def register_client(name: str, kind: str, client_type: str, redirect_uris=(), allowed_scopes: str = "",
                    launch_uri: str = "", jwks=None, jwks_uri: str = "", service_user=None,
                    actor: Context | None = None):
    """Register an OAuth client: a SMART app a person signs in to, or a backend service acting
    as its service account.

    Returns `(application, secret)`: the plaintext secret of a confidential client, or None. It
    is stored only as a hash, so this is the one moment it can be shown.
    """
    from oauth2_provider.generators import generate_client_secret
    from oauth2_provider.models import Application

    from mederi.accounts.models import ClientProfile

    name = (name or "").strip()
    redirect_uris = [uri.strip() for uri in redirect_uris if uri.strip()]
    issues = [] if name else [Issue("give the client a name people will recognise", expression="name")]
    issues += _check_client(kind, client_type, redirect_uris, allowed_scopes, launch_uri, jwks, jwks_uri,
                            service_user)
    if issues:
        raise InvalidRequest(issues)
    secret = generate_client_secret() if client_type == Application.CLIENT_CONFIDENTIAL else None
    application = Application(
        name=name, client_type=client_type, redirect_uris=" ".join(redirect_uris),
        authorization_grant_type=(Application.GRANT_CLIENT_CREDENTIALS if kind == ClientProfile.BACKEND
                                  else Application.GRANT_AUTHORIZATION_CODE),
        client_secret=secret or "", user=service_user if kind == ClientProfile.BACKEND else None,
    )
    application.save()  # hashes the secret
    ClientProfile.objects.create(application=application, kind=kind, allowed_scopes=" ".join(allowed_scopes.split()),
                                 launch_uri=launch_uri, jwks=jwks, jwks_uri=jwks_uri)
    _audit_client_change(actor, {"client": application.client_id, "name": name, "registered": True, "kind": kind,
                                 "client_type": client_type,
                                 "service_account": service_user.get_username() if application.user else None})
    return application, secret


@transaction.atomic
def update_client(application, *, name: str, redirect_uris=(), allowed_scopes: str = "", launch_uri: str = "",
                  jwks=None, jwks_uri: str = "", service_user=None, actor: Context | None = None):
    """Change what a registered client may do; its kind, type and secret stay as registered."""
    from mederi.accounts.models import ClientProfile

    profile, _ = ClientProfile.objects.get_or_create(application=application)
    name = (name or "").strip()
    redirect_uris = [uri.strip() for uri in redirect_uris if uri.strip()]
    issues = [] if name else [Issue("give the client a name people will recognise", expression="name")]
    issues += _check_client(profile.kind, application.client_type, redirect_uris, allowed_scopes, launch_uri, jwks,
                            jwks_uri, service_user)
    if issues:
        raise InvalidRequest(issues)
    before = {"name": application.name, "redirect_uris": application.redirect_uris,
              "allowed_scopes": profile.allowed_scopes, "launch_uri": profile.launch_uri, "jwks": profile.jwks,
              "jwks_uri": profile.jwks_uri, "service_account": application.user.get_username()
              if application.user else None}
    application.name = name
    application.redirect_uris = " ".join(redirect_uris)
    if profile.kind == ClientProfile.BACKEND:
        application.user = service_user
    profile.allowed_scopes = " ".join(allowed_scopes.split())
    profile.launch_uri, profile.jwks, profile.jwks_uri = launch_uri, jwks, jwks_uri
    after = {"name": application.name, "redirect_uris": application.redirect_uris,
             "allowed_scopes": profile.allowed_scopes, "launch_uri": profile.launch_uri, "jwks": profile.jwks,
             "jwks_uri": profile.jwks_uri, "service_account": application.user.get_username()
             if application.user else None}
    changed = sorted(key for key in after if after[key] != before[key])
    if changed:
        application.save(update_fields=["name", "redirect_uris", "user", "updated"])
        profile.save()
        _audit_client_change(actor, {"client": application.client_id, "name": name, "changed": changed})
    return application


@transaction.atomic
def revoke_client(application, actor: Context | None = None) -> dict:
    """Remove a client for good: every token and code issued to it, then the registration itself.

    Returns how many of each were removed.
    """
    from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken

    def deleted(model) -> int:  # rows of `model` itself, not the rows that cascade with them
        return model.objects.filter(application=application).delete()[1].get(model._meta.label, 0)

    client_id, name = application.client_id, application.name
    removed = {"refresh_tokens": deleted(RefreshToken), "access_tokens": deleted(AccessToken),
               "grants": deleted(Grant), "id_tokens": deleted(IDToken)}
    application.delete()
    _audit_client_change(actor, {"client": client_id, "name": name, "revoked": True, **removed})
    return removed
