"""Fixtures shared by every app's tests."""

import os
import shutil
from pathlib import Path

import orjson
import pytest
from django.conf import settings
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Property tests check what is generated, not how fast: on a machine shared with other work,
# Hypothesis' time limits (a per-example deadline, the slow-generation health check) fail correct code.
hypothesis_settings.register_profile("mederi", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("mederi")

SHARED_DATA = Path(settings.BASE_DIR).parent.parent / "shared" / "data"


def start_empty(request, *, audit_log: bool = False) -> None:
    """Empty the record (and with `audit_log`, the audit log) before a database test.

    Apps ship resources that every migrate adds (the note templates are Questionnaires, each
    written and audited); the record engine's and the audit log's own tests count and chain what
    they store themselves, so they start from nothing. The audit log's append-only guards are
    lifted only for the wipe.
    """
    if not ({"db", "transactional_db"} & set(request.fixturenames) or request.node.get_closest_marker("django_db")):
        return
    request.getfixturevalue("transactional_db" if "transactional_db" in request.fixturenames else "db")
    from django.db import connection

    from mederi.audit import triggers
    from mederi.audit.models import AuditEntry
    from mederi.fhir import models

    for model in (models.SearchToken, models.SearchString, models.SearchDate, models.SearchReference,
                  models.SearchNumber, models.SearchQuantity, models.SearchUri, models.SearchSnapshot,
                  models.ResourceHistory, models.Resource):
        model.objects.all().delete()
    if audit_log:
        with triggers.lifted(connection):
            AuditEntry.objects.all().delete()


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data; the test skips when the data sets are absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (data sets live beside the project)")
    return path


class FhirClient:
    """A Django test client that speaks FHIR JSON, with a bearer token when given one."""

    def __init__(self, token: str | None = None):
        self.client = Client()
        self.token = token

    def _headers(self, headers: dict) -> dict:
        if self.token and "Authorization" not in headers:
            headers = {**headers, "Authorization": f"Bearer {self.token}"}
        return headers

    def _send(self, method, url, body=None, content_type="application/fhir+json", **headers):
        data = body if isinstance(body, (str, bytes)) or body is None else orjson.dumps(body)
        return getattr(self.client, method)(url, data=data, content_type=content_type, headers=self._headers(headers))

    def get(self, url, **headers):
        return self.client.get(url, headers=self._headers(headers))

    def post(self, url, body, **headers):
        return self._send("post", url, body, **headers)

    def put(self, url, body, **headers):
        return self._send("put", url, body, **headers)

    def patch(self, url, body, **headers):
        return self._send("patch", url, body, content_type="application/json-patch+json", **headers)

    def delete(self, url, **headers):
        return self.client.delete(url, headers=self._headers(headers))

    def create(self, resource: dict) -> dict:
        response = self.post(f"/fhir/R4/{resource['resourceType']}", resource)
        assert response.status_code == 201, response.content
        return response.json()


def without_versioning(resource: dict) -> dict:
    """A resource without the two meta elements the server sets; profile, tag and security stay."""
    body = {k: v for k, v in resource.items() if k != "meta"}
    meta = {k: v for k, v in (resource.get("meta") or {}).items() if k not in ("versionId", "lastUpdated")}
    if meta:
        body["meta"] = meta
    return body


def record_row_counts() -> dict[str, int]:
    """Rows in every table of the record: a rejected request must leave all of them unchanged."""
    from mederi.fhir.models import Resource, ResourceHistory
    from mederi.fhir.repository import INDEX_MODELS

    models = [Resource, ResourceHistory] + [model for model, _ in INDEX_MODELS.values()]
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture(autouse=True)
def audit_entries_written_at_once(settings):
    """Tests read the audit log right after a request, so nothing waits in the read buffer.

    The buffer itself is tested in mederi/audit/tests/test_buffer.py.
    """
    settings.MEDERI_AUDIT_BUFFER_SECONDS = 0


@pytest.fixture(autouse=True)
def jobs_run_at_once():
    """Background jobs (huey tasks) run in the calling thread, with an in-memory queue."""
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


def oauth_application(name: str = "Test app", **fields):
    """An OAuth client registered the way an administrator would (code flow)."""
    from oauth2_provider.models import Application

    # Public unless asked otherwise: hashing a client secret with Argon2 costs more than most tests.
    defaults = {"client_type": Application.CLIENT_PUBLIC, "client_secret": "",
                "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
                "redirect_uris": "http://127.0.0.1:9/callback", **fields}
    application, _ = Application.objects.get_or_create(name=name, defaults=defaults)
    return application


def staff_user(username: str, *role_slugs: str, permissions=None):
    """A staff member with shipped roles, or with a role made of exactly `permissions`.

    API tests sign in with tokens, so the account has no password: hashing one with Argon2
    for every test would cost more than the test.
    """
    from django.contrib.auth import get_user_model

    from mederi.accounts import services
    from mederi.accounts.models import Profile

    services.ensure_default_roles()
    user = get_user_model().objects.create(username=username, first_name=username.title())
    user.set_unusable_password()
    user.save(update_fields=["password"])
    Profile.objects.create(user=user, kind=Profile.STAFF, full_name=username.title(), mfa_required=False)
    roles = list(role_slugs)
    if permissions is not None:
        services.create_role(f"only-{username}", f"Only {username}", permissions)
        roles.append(f"only-{username}")
    for slug in roles:
        services.assign_role(user, slug)
    return user


def token_for(user, scope: str = "user/*.cruds", patient_id: str | None = None, application=None) -> str:
    from mederi.accounts import services

    return services.issue_access_token(user, application or oauth_application(), scope, patient_id)


@pytest.fixture
def integration_user(db):
    """A staff account allowed everything: what most API tests act as."""
    from mederi.accounts.permissions import all_permissions

    return staff_user("integration", permissions=all_permissions())


@pytest.fixture
def fhir(db, integration_user):
    return FhirClient(token_for(integration_user))


@pytest.fixture
def anonymous_fhir(db):
    return FhirClient()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Mark browser tests with this: they skip where Debian's Chromium is not installed.
needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


def _live_requests_take_turns_on_an_in_memory_database() -> None:
    """Browser tests on SQLite use an in-memory database whose connections share one cache.
    Two requests at once (an autosave beside a form post) then collide at once ("database table
    is locked") instead of waiting their turn as connections to a database file do (BEGIN
    IMMEDIATE with a busy timeout, the production set-up). So on such a database the live
    server's requests take turns."""
    import threading

    from django.core.servers.basehttp import ThreadedWSGIServer
    from django.test import testcases

    class TakeTurns(ThreadedWSGIServer):
        def set_app(self, application):
            from django.db import connection

            turn = threading.Lock()

            def one_at_a_time(environ, start_response):
                # Asked per request: the server starts before the test database exists.
                if connection.vendor != "sqlite" or not connection.is_in_memory_db():
                    return application(environ, start_response)
                with turn:
                    return application(environ, start_response)

            return super().set_app(one_at_a_time)

    testcases.LiveServerThread.server_class = TakeTurns


_live_requests_take_turns_on_an_in_memory_database()


def sign_in_browser(page, live_server, user) -> list[str]:
    """Sign `user` into the browser page (their session cookie) and return the list that collects
    the page's JavaScript errors: a browser test ends by asserting it is empty."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.fixture
def page():
    """A page in headless Chromium (Debian's build) driven by Playwright."""
    # Playwright's sync API runs an event loop; Django must allow its ORM calls beside it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser.new_page()
        browser.close()


class FrozenClock:
    """`clock.now()` answers what the test says, and moves only when told."""

    def __init__(self, moment):
        self.moment = moment

    def __call__(self):
        return self.moment

    def advance(self, **delta):
        from datetime import timedelta

        self.moment += timedelta(**delta)
        return self.moment

    @classmethod
    def install(cls, monkeypatch, moment) -> "FrozenClock":
        from mederi.core import clock

        frozen = cls(moment)
        monkeypatch.setattr(clock, "now", frozen)
        return frozen
