"""What the page frame needs from the accounts app: whether to offer the administration pages."""

from __future__ import annotations

import functools


def _can_manage_accounts(user) -> bool:
    from mederi.accounts.selectors import permissions_for

    return "accounts.manage" in permissions_for(user)


def accounts(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can_manage_accounts": False}
    # A callable: asked only when the template draws the link, and the answer is kept.
    return {"can_manage_accounts": functools.cache(functools.partial(_can_manage_accounts, user))}
