"""Sign-in, sign-out, failed sign-ins and lockouts, written to the audit log as they happen."""

from __future__ import annotations

from django.db import transaction

from mederi.core.context import Context

_AUDITED = "_mederi_failure_audited"  # set on a request whose failed sign-in is already logged


def remote_addr(request) -> str | None:
    if request is None:
        return None
    return getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR")


def context_for(user, request=None) -> Context:
    """Who is acting, as the audit log names them: the account, its roles, the address."""
    from mederi.accounts.models import RoleAssignment

    if user is None or not getattr(user, "is_authenticated", False):
        return Context(remote_addr=remote_addr(request))
    slugs = sorted({slug for slug in RoleAssignment.objects.filter(user=user).values_list("role__slug", flat=True)})
    role = ",".join(slugs)
    if not role:
        profile = getattr(user, "profile", None)  # a missing profile raises an AttributeError subclass
        role = getattr(profile, "kind", "") or ""
    return Context(user_id=user.pk, user_name=user.get_username(), role=role or None,
                   remote_addr=remote_addr(request))


def _record(context: Context, action: str, outcome: str = "success", detail: dict | None = None) -> None:
    from mederi.audit import services as audit

    # Security events are appended at once, in a transaction of their own, never left in the read buffer.
    with transaction.atomic():
        audit.record(context, action, outcome, detail=detail)


def on_logged_in(sender, request, user, **kwargs):
    _record(context_for(user, request), "login")


def on_logged_out(sender, request, user, **kwargs):
    if user is None:  # signing out without being signed in changes nothing
        return
    _record(context_for(user, request), "logout")


def _attempted_username(credentials) -> str:
    return str((credentials or {}).get("username") or "")[:150]


def on_login_failed(sender, credentials, request=None, **kwargs):
    if request is not None and (getattr(request, _AUDITED, False) or getattr(request, "axes_locked_out", False)):
        return  # the lockout entry already tells of this attempt
    # Only the username: the password, even a wrong one, never reaches the log.
    _record(Context(user_name="anonymous", remote_addr=remote_addr(request)), "login-failed", "denied",
            {"username": _attempted_username(credentials)})
    if request is not None:
        setattr(request, _AUDITED, True)


def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    if request is not None and getattr(request, _AUDITED, False):
        return
    context = Context(user_name="anonymous", remote_addr=ip_address or remote_addr(request))
    _record(context, "login-failed", "denied", {"locked_out": True, "username": str(username or "")[:150]})
    if request is not None:
        setattr(request, _AUDITED, True)


def on_token_gone(sender, **kwargs):
    """A deleted (revoked) access token stops working on the very next request."""
    from mederi.core import epoch

    epoch.bump()


def on_user_saved(sender, instance, update_fields=None, **kwargs):
    """Deactivating an account, however it is done, ends what cached access it had."""
    if update_fields is None or "is_active" in update_fields:
        from mederi.core import epoch

        epoch.bump()


def connect() -> None:
    from axes.signals import user_locked_out
    from django.contrib.auth import get_user_model, signals
    from django.db.models.signals import post_delete, post_save
    from oauth2_provider.models import AccessToken

    post_delete.connect(on_token_gone, sender=AccessToken, dispatch_uid="mederi-token-gone")
    post_save.connect(on_user_saved, sender=get_user_model(), dispatch_uid="mederi-user-saved")

    signals.user_logged_in.connect(on_logged_in, dispatch_uid="mederi-audit-login")
    signals.user_logged_out.connect(on_logged_out, dispatch_uid="mederi-audit-logout")
    signals.user_login_failed.connect(on_login_failed, dispatch_uid="mederi-audit-login-failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="mederi-audit-locked-out")
