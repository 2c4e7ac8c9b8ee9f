"""What the page frame needs from the audit app: whether to offer the audit log."""

from __future__ import annotations

import functools


def _can_view_audit(user) -> bool:
    from mederi.accounts.selectors import permissions_for

    return "audit.view" in permissions_for(user)


def audit(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can_view_audit": False}
    # A callable: the template asks only when it draws the link, and the answer is kept.
    return {"can_view_audit": functools.cache(functools.partial(_can_view_audit, user))}
