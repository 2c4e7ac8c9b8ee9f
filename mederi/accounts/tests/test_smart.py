"""SMART App Launch 2.0 and Backend Services against a live server, driven by `authlib` as the
client: discovery, authorization code with PKCE, the patient picker, refresh, introspection,
revocation, and client credentials with signed JWT assertions (RS384 and ES384)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from oauth2_provider.models import AccessToken, Application

from mederi.accounts import services
from mederi.accounts.models import ClientProfile
from mederi.audit.models import AuditEntry
from mederi.core.context import Context
from mederi.fhir.repository import Repository

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"
REDIRECT = "http://127.0.0.1:9/callback"


class _FormReader(HTMLParser):
    """The inputs of the consent form and the patient choices, as a browser would submit them."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.patients: list[str] = []
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._in_form = attrs.get("id") == "authorizationForm"
        elif tag == "input" and self._in_form:
            if attrs.get("type") == "radio":
                self.patients.append(attrs["value"])
            elif attrs.get("name"):
                self.fields[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False


def _read_form(html: str) -> _FormReader:
    reader = _FormReader()
    reader.feed(html)
    return reader


@pytest.fixture
def record():
    repo = Repository(Context.system())
    for pid, family in (("p-ana", "Moreno"), ("p-ben", "Okafor")):
        repo.create({"resourceType": "Patient", "name": [{"family": family, "given": ["Pat"]}]}, logical_id=pid)
        repo.create({"resourceType": "Observation", "status": "final", "code": {"text": "Pulse"},
                     "subject": {"reference": f"Patient/{pid}"}, "valueQuantity": {"value": 70}},
                    logical_id=f"obs-{pid}")
    return repo


@pytest.fixture
def physician(record):
    services.ensure_default_roles()
    return services.create_staff_user("drsmart", PASSWORD, "Dr Smart", roles=["physician"], mfa_required=False)


@pytest.fixture
def app_client():
    application = Application(name="Growth charts", client_type=Application.CLIENT_CONFIDENTIAL,
                              authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
                              redirect_uris=REDIRECT, client_secret="s3cret-for-the-test-only")
    application.save()
    ClientProfile.objects.create(application=application, kind=ClientProfile.APP)
    return application


def _signed_in(live_server, username: str) -> requests.Session:
    browser = requests.Session()
    browser.get(f"{live_server.url}/accounts/login/")
    response = browser.post(f"{live_server.url}/accounts/login/", allow_redirects=False, data={
        "username": username, "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert response.status_code == 302, response.text
    return browser


def _authorize(live_server, browser, client: OAuth2Session, config: dict, verifier: str, pick: str | None):
    """The person's side: the consent page, the patient picker, Allow. Returns the redirect URL."""
    url, _state = client.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier,
                                                  aud=f"{live_server.url}/fhir/R4")
    page = browser.get(url)
    assert page.status_code == 200, page.text
    if pick:
        page = browser.get(url + "&patient_q=" + pick)
        assert "Which patient is this app for?" in page.text
    form = _read_form(page.text)
    data = dict(form.fields, allow="Authorize")
    if pick:
        assert form.patients, "the picker offered no patient"
        data["launch_patient"] = form.patients[0]
    answer = browser.post(url, data=data, allow_redirects=False, headers={"Referer": url})
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def test_standalone_launch_with_pkce_patient_picker_refresh_and_revocation(live_server, physician, app_client):
    config = requests.get(f"{live_server.url}/fhir/R4/.well-known/smart-configuration", timeout=10).json()
    assert "S256" in config["code_challenge_methods_supported"]
    assert {"launch-standalone", "permission-v2", "client-confidential-asymmetric"} <= set(config["capabilities"])

    client = OAuth2Session(app_client.client_id, "s3cret-for-the-test-only", redirect_uri=REDIRECT,
                           scope="launch/patient patient/Patient.rs patient/Observation.rs offline_access openid",
                           code_challenge_method="S256")
    verifier = generate_token(48)
    browser = _signed_in(live_server, "drsmart")
    location = _authorize(live_server, browser, client, config, verifier, pick="Moreno")
    token = client.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=verifier)

    assert token["patient"] == "p-ana"
    picker = AuditEntry.objects.filter(action="search", query__startswith="patient picker").last()
    assert (picker.actor_name, picker.references) == ("drsmart", ["Patient/p-ana"])
    assert set(token["scope"].split()) == {"launch/patient", "patient/Patient.rs", "patient/Observation.rs",
                                           "offline_access"}  # openid is not granted: no OpenID Connect
    assert token["refresh_token"]
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token['access_token']}"
    base = f"{live_server.url}/fhir/R4"

    bundle = api.get(f"{base}/Observation").json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["obs-p-ana"]  # only the chosen patient's
    assert bundle["total"] == 1
    refused = api.get(f"{base}/Observation/obs-p-ben")
    assert refused.status_code == 403 and "Okafor" not in refused.text and "valueQuantity" not in refused.text
    assert api.get(f"{base}/Patient/p-ben").status_code == 403
    assert api.get(f"{base}/Encounter").status_code == 403  # no scope for Encounter
    assert api.post(f"{base}/Observation", json={"resourceType": "Observation"},
                    headers={"Content-Type": "application/fhir+json"}).status_code == 403  # read-only scopes

    # The refresh keeps the patient; the old access token is retired. A refresh may ask for no
    # more than was granted, so the client asks for the granted scopes (openid was not).
    client.scope = token["scope"]
    renewed = client.refresh_token(config["token_endpoint"])
    assert renewed["patient"] == "p-ana" and renewed["access_token"] != token["access_token"]
    assert requests.get(f"{base}/Observation", timeout=10,
                        headers={"Authorization": f"Bearer {renewed['access_token']}"}).status_code == 200

    introspected = requests.post(config["introspection_endpoint"], data={"token": renewed["access_token"]},
                                 auth=(app_client.client_id, "s3cret-for-the-test-only"), timeout=10).json()
    assert introspected["active"] is True and introspected["patient"] == "p-ana"
    assert introspected["username"] == "drsmart"
    assert requests.post(config["introspection_endpoint"], data={"token": renewed["access_token"]},
                         auth=(app_client.client_id, "wrong"), timeout=10).status_code == 401

    revoked = requests.post(config["revocation_endpoint"], timeout=10,
                            data={"token": renewed["access_token"], "client_id": app_client.client_id,
                                  "client_secret": "s3cret-for-the-test-only"})
    assert revoked.status_code == 200
    after = requests.get(f"{base}/Observation", timeout=10,
                         headers={"Authorization": f"Bearer {renewed['access_token']}"})
    assert after.status_code == 401 and after.json()["resourceType"] == "OperationOutcome"
    assert "invalid_token" in after.headers["WWW-Authenticate"]
    actions = list(AuditEntry.objects.filter(action__in=["token-issue", "token-revoke"]).values_list("action",
                                                                                                   flat=True))
    assert actions.count("token-issue") == 2 and actions.count("token-revoke") == 1


def test_pkce_is_required_and_a_wrong_verifier_gets_no_token(live_server, physician, app_client):
    config = requests.get(f"{live_server.url}/.well-known/smart-configuration", timeout=10).json()
    client = OAuth2Session(app_client.client_id, "s3cret-for-the-test-only", redirect_uri=REDIRECT,
                           scope="user/Observation.rs", code_challenge_method="S256")
    browser = _signed_in(live_server, "drsmart")
    location = _authorize(live_server, browser, client, config, generate_token(48), pick=None)
    response = requests.post(config["token_endpoint"], auth=(app_client.client_id, "s3cret-for-the-test-only"),
                             data={"grant_type": "authorization_code", "code": parse_qs(urlparse(location).query)
                                   ["code"][0], "redirect_uri": REDIRECT, "code_verifier": generate_token(48)},
                             timeout=10)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    # Without a code challenge the request is refused outright.
    plain = browser.get(f"{config['authorization_endpoint']}?response_type=code&client_id={app_client.client_id}"
                        f"&redirect_uri={REDIRECT}&scope=user/Observation.rs&state=x", allow_redirects=False)
    assert plain.status_code == 302 and "error=invalid_request" in plain.headers["Location"]


def test_scopes_are_cut_to_what_the_persons_roles_allow(live_server, record, app_client):
    services.ensure_default_roles()
    services.create_staff_user("desk", PASSWORD, "Front Desk", roles=["front_desk"], mfa_required=False)
    config = requests.get(f"{live_server.url}/.well-known/smart-configuration", timeout=10).json()
    client = OAuth2Session(app_client.client_id, "s3cret-for-the-test-only", redirect_uri=REDIRECT,
                           scope="user/Patient.cruds user/Observation.rs", code_challenge_method="S256")
    verifier = generate_token(48)
    location = _authorize(live_server, _signed_in(live_server, "desk"), client, config, verifier, pick=None)
    token = client.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=verifier)
    # Front desk may read and change demographics but not delete them, and sees no clinical records.
    assert token["scope"] == "user/Patient.crus"
    assert "refresh_token" not in token  # neither offline_access nor online_access was asked for


def _rsa_key():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return pem, {**public, "kid": "rsa-1", "alg": "RS384", "use": "sig"}


def _ec_key():
    private = ec.generate_private_key(ec.SECP384R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    return pem, {**public, "kid": "ec-1", "alg": "ES384", "use": "sig"}


def _backend_client(name: str, service_user, **profile) -> Application:
    application = Application(name=name, client_type=Application.CLIENT_CONFIDENTIAL, client_secret="",
                              authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS, user=service_user)
    application.save()
    ClientProfile.objects.create(application=application, kind=ClientProfile.BACKEND, **profile)
    return application


@pytest.fixture
def service_account(record):
    services.ensure_default_roles()
    return services.create_staff_user("svc-analytics", PASSWORD, "Analytics service", roles=["nurse"],
                                      mfa_required=False)


def test_backend_service_with_registered_rs384_key(live_server, service_account):
    pem, public = _rsa_key()
    application = _backend_client("Analytics", service_account, jwks={"keys": [public]})
    config = requests.get(f"{live_server.url}/.well-known/smart-configuration", timeout=10).json()
    token_url = config["token_endpoint"]
    # SMART allows an assertion at most five minutes of life; authlib's default is an hour.
    signer = PrivateKeyJWT(token_url, alg="RS384", headers={"kid": "rsa-1"}, claims={"exp": int(time.time()) + 240})
    client = OAuth2Session(application.client_id, pem, scope="system/Observation.rs",
                           token_endpoint_auth_method=signer)
    token = client.fetch_token(token_url, grant_type="client_credentials")
    assert token["scope"] == "system/Observation.rs" and "refresh_token" not in token
    api = {"Authorization": f"Bearer {token['access_token']}"}
    bundle = requests.get(f"{live_server.url}/fhir/R4/Observation", headers=api, timeout=10).json()
    assert {e["resource"]["id"] for e in bundle["entry"]} == {"obs-p-ana", "obs-p-ben"}  # system: every patient
    assert requests.get(f"{live_server.url}/fhir/R4/Patient", headers=api, timeout=10).status_code == 403

    # Deactivating the service account revokes the service's tokens at once.
    services.deactivate_user(service_account)
    assert requests.get(f"{live_server.url}/fhir/R4/Observation", headers=api, timeout=10).status_code == 401
    assert not AccessToken.objects.filter(application=application).exists()


def _assertion(pem: bytes, client_id: str, token_url: str, alg: str, kid: str, jti: str | None = None,
               lifetime: int = 120) -> str:
    now = int(time.time())
    return jwt.encode({"iss": client_id, "sub": client_id, "aud": token_url, "exp": now + lifetime,
                       "jti": jti or str(uuid.uuid4())}, pem, algorithm=alg, headers={"kid": kid})


class _JwksHandler(BaseHTTPRequestHandler):
    document: dict = {}

    def do_GET(self):  # noqa: N802 (the standard library's name)
        body = json.dumps(self.document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_backend_service_with_es384_key_from_a_jwks_url_and_bad_assertions(live_server, service_account):
    pem, public = _ec_key()
    _JwksHandler.document = {"keys": [public]}
    server = HTTPServer(("127.0.0.1", 0), _JwksHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        application = _backend_client("Registry", service_account,
                                      jwks_uri=f"http://127.0.0.1:{server.server_port}/jwks.json")
        token_url = f"{live_server.url}/oauth/token"

        def ask(assertion: str, scope: str = "system/Observation.rs"):
            return requests.post(token_url, timeout=10, data={
                "grant_type": "client_credentials", "scope": scope,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion})

        assertion = _assertion(pem, application.client_id, token_url, "ES384", "ec-1")
        first = ask(assertion)
        assert first.status_code == 200, first.text
        assert ask(assertion).status_code == 401  # the same jti again: a replay
        other_pem, _ = _ec_key()
        assert ask(_assertion(other_pem, application.client_id, token_url, "ES384", "ec-1")).status_code == 401
        assert ask(_assertion(pem, application.client_id, "https://elsewhere/token", "ES384", "ec-1")
                   ).status_code == 401  # meant for another server
        assert ask(_assertion(pem, application.client_id, token_url, "ES384", "ec-1", lifetime=3600)
                   ).status_code == 401  # lives longer than five minutes
        refused = ask(_assertion(pem, application.client_id, token_url, "ES384", "ec-1"), scope="user/*.rs")
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"  # services get system/ only
    finally:
        server.shutdown()


def test_ehr_launch_hands_the_open_chart_to_the_app(live_server, physician, app_client):
    ClientProfile.objects.filter(application=app_client).update(launch_uri="http://127.0.0.1:9/launch")
    browser = _signed_in(live_server, "drsmart")
    opened = browser.get(f"{live_server.url}/oauth/launch/{app_client.client_id}?patient=p-ben", allow_redirects=False)
    assert opened.status_code == 302
    launch_query = parse_qs(urlparse(opened.headers["Location"]).query)
    assert launch_query["iss"] == [f"{live_server.url}/fhir/R4"]
    config = requests.get(f"{launch_query['iss'][0]}/.well-known/smart-configuration", timeout=10).json()
    client = OAuth2Session(app_client.client_id, "s3cret-for-the-test-only", redirect_uri=REDIRECT,
                           scope="launch patient/Observation.rs", code_challenge_method="S256")
    verifier = generate_token(48)
    url, _ = client.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier,
                                             launch=launch_query["launch"][0], aud=launch_query["iss"][0])
    page = browser.get(url)
    assert "For patient" in page.text and "Which patient" not in page.text  # no picker: the chart decided
    answer = browser.post(url, data=dict(_read_form(page.text).fields, allow="Authorize"), allow_redirects=False)
    token = client.fetch_token(config["token_endpoint"], authorization_response=answer.headers["Location"],
                               code_verifier=verifier)
    assert token["patient"] == "p-ben"
    # A launch value is bound to the person who opened the chart: another user cannot use it.
    services.create_staff_user("drother", PASSWORD, "Dr Other", roles=["physician"], mfa_required=False)
    other = _signed_in(live_server, "drother")
    stolen = other.get(url.replace("scope=launch+", "scope=launch%2Fpatient+"))
    assert "For patient" not in stolen.text


def test_a_wrong_audience_is_refused(live_server, physician, app_client):
    browser = _signed_in(live_server, "drsmart")
    response = browser.get(f"{live_server.url}/oauth/authorize?response_type=code&client_id={app_client.client_id}"
                           f"&redirect_uri={REDIRECT}&scope=user/Patient.rs&state=x&code_challenge=abc"
                           "&code_challenge_method=S256&aud=https://elsewhere.example/fhir")
    assert response.status_code == 400 and "is not this FHIR server" in response.text


def test_an_app_acts_with_the_roles_held_where_its_authoriser_works(live_server, record, app_client):
    services.ensure_default_roles()
    for key in ("loc-a", "loc-b"):
        record.create({"resourceType": "Location", "name": key}, logical_id=key)
    services.create_staff_user("floater", PASSWORD, "Flo Ater", mfa_required=False,
                               roles=[("front_desk", "loc-a"), ("physician", "loc-b")])
    config = requests.get(f"{live_server.url}/.well-known/smart-configuration", timeout=10).json()
    browser = _signed_in(live_server, "floater")
    client = OAuth2Session(app_client.client_id, "s3cret-for-the-test-only", redirect_uri=REDIRECT,
                           scope="user/Observation.rs", code_challenge_method="S256")
    url, _ = client.create_authorization_url(config["authorization_endpoint"], code_verifier=generate_token(48),
                                             aud=f"{live_server.url}/fhir/R4")
    asked = browser.get(url, allow_redirects=False)
    assert asked.status_code == 302 and asked.headers["Location"].startswith("/accounts/location/")
    chosen = browser.post(f"{live_server.url}/accounts/location/", allow_redirects=False, data={
        "location": "loc-b", "next": "/", "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert chosen.status_code == 302

    verifier = generate_token(48)
    location = _authorize(live_server, browser, client, config, verifier, pick=None)
    token = client.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=verifier)
    assert token["scope"] == "user/Observation.rs"  # a physician at loc-b may read observations
    read = requests.get(f"{live_server.url}/fhir/R4/Observation/obs-p-ana", timeout=10,
                        headers={"Authorization": f"Bearer {token['access_token']}"})
    assert read.status_code == 200
