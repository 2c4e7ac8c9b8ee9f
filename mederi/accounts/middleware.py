"""Session safety for the staff and patient pages."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

_LAST_SEEN = "mederi_last_seen"


class IdleLogoutMiddleware:
    """Sign a person out after `MEDERI_IDLE_TIMEOUT_SECONDS` without a request (default 15 min).

    The last-seen time is saved at most once a minute, so an active session does not write to
    the database on every click.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(_LAST_SEEN, now)
            if now - last_seen > settings.MEDERI_IDLE_TIMEOUT_SECONDS:
                logout(request)
                messages.info(request, "You were signed out after a period of inactivity.")
                return redirect(f"{settings.LOGIN_URL}?next={request.path}")
            if now - last_seen >= 60 or _LAST_SEEN not in request.session:
                request.session[_LAST_SEEN] = now
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """A content security policy that forbids framing and third-party scripts, and no copies of
    pages or API answers left in browser or proxy caches (they may hold patient data)."""

    # Static files are the one thing worth caching; everything else may carry patient data.
    CACHEABLE_PREFIXES = ("/static/",)

    POLICY = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    @classmethod
    def policy_connecting_to(cls, url: str) -> str:
        """The policy for a page whose script also talks to `url`'s origin (the card gateway's token endpoint)."""
        parts = urlsplit(url)
        return f"{cls.POLICY}; connect-src 'self' {parts.scheme}://{parts.netloc}"

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(self), geolocation=()")
        if not request.path.startswith(self.CACHEABLE_PREFIXES):
            response["Cache-Control"] = "no-store"
        return response


class MfaPendingMiddleware:
    """A session whose password was right but whose code is still owed reaches only the sign-in
    pages: everything else sends it back to the code (or enrolment) page.

    The person is not signed in until the code verifies, so the pages behind sign-in refuse them
    anyway; this keeps the way forward obvious and the rest of the site out of reach.
    """

    ALLOWED_PREFIXES = ("/accounts/", "/static/", "/healthz", "/ping")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from mederi.accounts import mfa

        if mfa.PENDING in request.session and not request.path.startswith(self.ALLOWED_PREFIXES):
            state = mfa.pending(request)
            if state is not None:
                return redirect("accounts:mfa_enrol" if state["step"] == mfa.ENROL else "accounts:mfa")
        return self.get_response(request)


class BearerTokenMiddleware:
    """Requests to the FHIR API carry an OAuth bearer token: turn it into the request's Context.

    `request.mederi_context` is the caller's context (anonymous without a token);
    `request.mederi_token_error` says why a token that was sent is no good.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from mederi.accounts.context import context_for_token
        from mederi.accounts.signals import remote_addr

        if settings.MEDERI_UNSAFE_NO_SECURITY:  # benchmarks only, see settings.py
            from mederi.core.context import Context

            request.mederi_context = Context.system("benchmark")
            return self.get_response(request)
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header[:7].lower() == "bearer ":
            context = context_for_token(header[7:].strip(), remote_addr(request))
            if context is None:
                request.mederi_token_error = "the access token is unknown, expired or revoked; get a new one"
            else:
                request.mederi_context = context
        return self.get_response(request)


class WorkingLocationMiddleware:
    """A signed-in person with roles at several locations says where they work before going on.

    Looked up once a session: the answer (or "none needed") is kept in the session.
    """

    # Token-based and sign-in paths have no working location of a session to ask for.
    EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz", "/ping", "/fhir/", "/.well-known/",
                       "/oauth/token", "/oauth/revoke", "/oauth/introspect")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from mederi.accounts import working_location

        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and working_location.SESSION_KEY not in request.session
                and not request.path.startswith(self.EXEMPT_PREFIXES) and not working_location.settle(request)):
            return redirect(f"{reverse('accounts:location')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
