"""Reads about users: what they may do."""

from __future__ import annotations

from django.db.models import Q

from mederi.accounts.models import RoleAssignment


def permissions_for(user, location_id: str | None = None) -> frozenset[str]:
    """The union of the user's roles valid everywhere or at `location_id`; none when inactive."""
    if user is None or not user.is_active:
        return frozenset()
    assignments = RoleAssignment.objects.filter(user=user).select_related("role")
    if location_id is not None:
        assignments = assignments.filter(Q(location_id="") | Q(location_id=location_id))
    codes: set[str] = set()
    for assignment in assignments:
        codes.update(assignment.role.permissions)
    return frozenset(codes)


def role_names(user) -> list[str]:
    return sorted({a.role.name for a in RoleAssignment.objects.filter(user=user).select_related("role")})
