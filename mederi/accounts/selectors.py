"""Reads about users: what they may do."""

from __future__ import annotations

from mederi.accounts.models import RoleAssignment


def working_locations(user) -> list[str]:
    """The locations where `user` holds a role given for that location only, sorted."""
    if user is None or not user.is_active:
        return []
    return sorted(set(RoleAssignment.objects.filter(user=user).exclude(location_id="")
                      .values_list("location_id", flat=True)))


def _assignments_in_force(user, location_id: str | None):
    """A role given for one location applies while the user works there. Without a chosen
    location, a user whose location roles are all at one place is taken to work there."""
    assignments = list(RoleAssignment.objects.filter(user=user).select_related("role"))
    if location_id is None:
        places = {a.location_id for a in assignments if a.location_id}
        location_id = places.pop() if len(places) == 1 else ""
    return [a for a in assignments if a.location_id in ("", location_id)]


def permissions_for(user, location_id: str | None = None) -> frozenset[str]:
    """What `user` may do while working at `location_id`: the union of the roles in force there;
    nothing when the account is inactive."""
    if user is None or not user.is_active:
        return frozenset()
    codes: set[str] = set()
    for assignment in _assignments_in_force(user, location_id):
        codes.update(assignment.role.permissions)
    return frozenset(codes)


def role_names(user, location_id: str | None = None) -> list[str]:
    if user is None or not user.is_active:
        return []
    return sorted({a.role.name for a in _assignments_in_force(user, location_id)})


# -- administration screens --------------------------------------------------------------------

def locations() -> list[tuple[str, str]]:
    """The practice's locations as (FHIR Location id, name), by name: where a role can be given.
    Rooms (physicalType "ro", part of a location) are places inside a location, not locations."""
    from mederi.core import systems
    from mederi.fhir import jsonio
    from mederi.fhir.models import Resource

    found = []
    for logical_id, content in (Resource.objects.filter(resource_type="Location", deleted=False)
                                .values_list("logical_id", "content")):
        location = jsonio.loads(content)
        if any(c.get("system") == systems.LOCATION_PHYSICAL_TYPE and c.get("code") == systems.ROOM
               for c in (location.get("physicalType") or {}).get("coding") or ()):
            continue
        found.append((logical_id, location.get("name") or logical_id))
    return sorted(found, key=lambda pair: (pair[1].lower(), pair[0]))


def users_for_admin():
    """Every account with what the users list shows, in one query per table."""
    from django.contrib.auth import get_user_model
    from django.db.models import Prefetch

    return (get_user_model().objects.order_by("username").select_related("profile", "mfa_device")
            .prefetch_related(Prefetch("role_assignments",
                                       queryset=RoleAssignment.objects.select_related("role")
                                       .order_by("role__name", "location_id"))))


def staff_users():
    """Active staff accounts: who a backend service can act as."""
    from django.contrib.auth import get_user_model

    from mederi.accounts.models import Profile

    return get_user_model().objects.filter(is_active=True, profile__kind=Profile.STAFF).order_by("username")


def clients_for_admin():
    from oauth2_provider.models import Application

    return Application.objects.select_related("mederi_profile", "user").order_by("name", "id")
