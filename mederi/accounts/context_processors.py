"""What the page frame needs to know of the signed-in person: which sections to offer."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject


def permissions(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"staff_permissions": frozenset(), "can_manage_accounts": False, "can_view_audit": False}
    from mederi.accounts import working_location
    from mederi.accounts.context import permissions_for_request

    # Looked up only when a template draws a link that depends on it, and then once.
    codes = SimpleLazyObject(lambda: permissions_for_request(request))
    return {"staff_permissions": codes,
            "can_manage_accounts": lambda: "accounts.manage" in codes,
            "can_view_audit": lambda: "audit.view" in codes,
            "working_location": lambda: working_location.name_of(working_location.of_request(request))}
