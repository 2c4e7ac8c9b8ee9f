"""Where a staff member is working now.

A role can be given for one location only (a nurse at the north clinic). Such a role applies
while its holder works there: someone with roles at several locations chooses one at sign-in
and can change it from the page header; someone with roles at one location works there without
being asked. The choice lives in the session, and an app authorised from that session carries
it in its tokens (`LaunchContext.location_id`).
"""

from __future__ import annotations

from mederi.accounts.selectors import locations, working_locations

SESSION_KEY = "mederi_location"


def of_request(request) -> str | None:
    """The location the signed-in person chose (or the only one they work at); None if none."""
    session = getattr(request, "session", None)
    return (session.get(SESSION_KEY) or None) if session is not None else None


def choices(user) -> list[tuple[str, str]]:
    """(id, name) of the locations `user` can choose: where they hold a role for that location;
    every practice location when a role of theirs holds everywhere."""
    from mederi.accounts.models import RoleAssignment

    own = set(working_locations(user))
    everywhere = RoleAssignment.objects.filter(user=user, location_id="").exists()
    return [(key, name) for key, name in locations() if everywhere or key in own]


def settle(request) -> bool:
    """Remember the location of a session that has none yet; False when the person must choose."""
    found = working_locations(request.user)
    if len(found) > 1:
        return False
    request.session[SESSION_KEY] = found[0] if found else ""
    return True


def choose(request, location_id: str) -> bool:
    """Work at `location_id` from now on in this session; False when it is not one of theirs."""
    if location_id not in {key for key, _ in choices(request.user)}:
        return False
    request.session[SESSION_KEY] = location_id
    return True


def name_of(location_id: str | None) -> str | None:
    if not location_id:
        return None
    return dict(locations()).get(location_id, location_id)
