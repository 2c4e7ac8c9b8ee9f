"""Writes about users and roles."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mederi.accounts.models import Profile, Role, RoleAssignment
from mederi.accounts.permissions import DEFAULT_ROLES, all_permissions
from mederi.audit import services as audit
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, Issue, MederiError

User = get_user_model()


def _audit_role_change(actor: Context | None, detail: dict) -> None:
    """A change of who may do what: one `role-change` entry, in the caller's transaction."""
    audit.record(actor or Context.system("accounts"), "role-change", detail=detail)


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
    removed, _ = RoleAssignment.objects.filter(user=user, role__slug=role_slug, location_id=location_id).delete()
    if removed:
        _audit_role_change(actor, {"user": user.get_username(), "removed": role_slug, "location": location_id})


@transaction.atomic
def deactivate_user(user, actor: Context | None = None) -> int:
    """Take away every access at once: the account, and every session it has open.

    Returns the number of sessions ended. (OAuth tokens join this when the API issues them.)
    """
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = 0
    key = str(user.pk)
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == key:
            session.delete()
            ended += 1
    _audit_role_change(actor, {"user": user.get_username(), "deactivated": True, "sessions_ended": ended})
    return ended
