"""SMART App Launch 2.0 endpoints: discovery, authorization (with patient picker), EHR launch,
and token introspection. The token and revocation endpoints are django-oauth-toolkit's."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.contrib.auth.hashers import check_password
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider.models import AccessToken, Application
from oauth2_provider.views import AuthorizationView

from mederi.accounts import oauth, working_location
from mederi.accounts.context import context_for_request, permissions_for_request, token_checksum
from mederi.accounts.models import EhrLaunch, LaunchContext, Profile
from mederi.audit import services as audit
from mederi.core.errors import MederiError
from mederi.fhir.repository import Repository

CAPABILITIES = [
    "launch-ehr", "launch-standalone", "client-public", "client-confidential-symmetric",
    "client-confidential-asymmetric", "context-ehr-patient", "context-standalone-patient",
    "permission-offline", "permission-online", "permission-patient", "permission-user", "permission-v1",
    "permission-v2",
]


def fhir_base(request) -> str:
    from mederi.fhir.views import base_url

    return base_url(request)


def smart_configuration(request):
    """`.well-known/smart-configuration`: where the endpoints are and what this server supports."""
    root = request.build_absolute_uri("/").rstrip("/")
    return JsonResponse({
        "issuer": fhir_base(request),
        "authorization_endpoint": f"{root}{reverse('oauth:authorize')}",
        "token_endpoint": f"{root}{reverse('oauth:token')}",
        "introspection_endpoint": f"{root}{reverse('oauth:introspect')}",
        "revocation_endpoint": f"{root}{reverse('oauth:revoke')}",
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(oauth.ASSERTION_ALGORITHMS),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": [*oauth.CONTEXT_SCOPES, "patient/*.rs", "user/*.rs", "user/*.cruds", "system/*.rs",
                             "patient/*.read", "user/*.read", "user/*.write", "system/*.read"],
        "capabilities": CAPABILITIES,
    })


def _user_patient(user) -> str | None:
    profile = Profile.objects.filter(user=user).first()
    return profile.patient_id if profile and profile.kind == Profile.PATIENT else None


class SmartAuthorizationView(AuthorizationView):
    """The consent page: which app, which access, and (for `launch/patient`) which patient."""

    template_name = "accounts/authorize.html"

    def get(self, request, *args, **kwargs):
        aud = request.GET.get("aud")
        if aud and aud.rstrip("/") != fhir_base(request).rstrip("/"):
            return HttpResponseBadRequest(f"aud '{aud}' is not this FHIR server; use {fhir_base(request)}")
        return super().get(request, *args, **kwargs)

    def _needs_patient(self, scopes) -> bool:
        return "launch/patient" in scopes

    def _ehr_launch(self, code: str | None, client_id: str | None) -> EhrLaunch | None:
        if not code:
            return None
        return EhrLaunch.objects.filter(code=code, user=self.request.user, application__client_id=client_id,
                                        expires__gt=timezone.now()).first()

    def get_context_data(self, **kwargs):
        data = super().get_context_data(**kwargs)
        request = self.request
        scopes = data.get("scopes") or []
        data["scope_rows"] = [(scope, oauth.describe_scope(scope)) for scope in scopes]
        data["launch"] = request.GET.get("launch") or request.POST.get("launch") or ""
        own = _user_patient(request.user)
        launch = self._ehr_launch(data["launch"], data.get("client_id") or request.POST.get("client_id"))
        data["fixed_patient"] = own or (launch.patient_id if launch else None)
        data["needs_patient"] = self._needs_patient(scopes) and not data["fixed_patient"]
        query = request.GET.get("patient_q", "").strip()
        data["patient_q"] = query
        data["carry"] = [(k, v) for k in request.GET for v in request.GET.getlist(k) if k != "patient_q"]
        data["patients"] = self._patients(query) if data["needs_patient"] and query else []
        return data

    def _patients(self, query: str) -> list[dict]:
        context = context_for_request(self.request)
        try:
            result = Repository(context).search("Patient", [("name", query), ("_count", "20")])
        except MederiError:
            return []
        # The picker shows names and birth dates: a search of patient data like any other.
        audit.record(context, "search", resource_type="Patient", query=f"patient picker: name={query}",
                     resource_ids=[s.reference for s in result.matches])
        rows = []
        for stored in result.matches:
            body = stored.as_dict()
            name = (body.get("name") or [{}])[0]
            label = " ".join([*(name.get("given") or []), name.get("family", "")]).strip() or stored.logical_id
            rows.append({"id": stored.logical_id, "label": label, "birth_date": body.get("birthDate", "")})
        return rows

    def _chosen_patient(self, scopes) -> tuple[str | None, str | None]:
        """(patient id, error) for the POSTed consent."""
        request = self.request
        own = _user_patient(request.user)
        if own:
            return own, None
        launch = self._ehr_launch(request.POST.get("launch"), request.POST.get("client_id"))
        if launch is not None:
            return launch.patient_id, None
        if not self._needs_patient(scopes):
            return None, None
        chosen = request.POST.get("launch_patient", "").strip()
        if not chosen:
            return None, "Choose the patient this app is for."
        try:
            Repository(context_for_request(request)).read("Patient", chosen)
        except MederiError as error:
            return None, f"That patient cannot be chosen: {error}"
        return chosen, None

    def form_valid(self, form):
        scopes = (form.cleaned_data.get("scope") or "").split()
        self._launch_patient, error = self._chosen_patient(scopes)
        if error and form.cleaned_data.get("allow"):
            form.add_error(None, error)
            self.oauth2_data = dict(form.cleaned_data, scopes=scopes,
                                    application=Application.objects.filter(
                                        client_id=form.cleaned_data.get("client_id")).first())
            return self.render_to_response(self.get_context_data(form=form, **self.oauth2_data))
        return super().form_valid(form)

    def create_authorization_response(self, request, scopes, credentials, allow):
        from mederi.accounts.permissions import PATIENT_PERMISSIONS

        own = _user_patient(request.user)
        permissions = PATIENT_PERMISSIONS if own else permissions_for_request(request)
        granted = " ".join(oauth.narrow_scopes(scopes.split(), permissions))
        credentials = {**credentials, "launch_patient": getattr(self, "_launch_patient", None),
                       "launch_location": working_location.of_request(request)}
        return super().create_authorization_response(request, granted or scopes, credentials, allow)


@login_required
def ehr_launch(request, client_id: str):
    """Open a registered app from inside Mederi for one patient (SMART EHR launch)."""
    application = Application.objects.filter(client_id=client_id).first()
    profile = oauth.profile_of(application) if application else None
    patient_id = request.GET.get("patient", "")
    if profile is None or not profile.launch_uri:
        return HttpResponseBadRequest("this app has no launch URL registered; ask an administrator")
    try:
        Repository(context_for_request(request)).read("Patient", patient_id)
    except MederiError as error:
        return HttpResponse(f"Cannot open the app for this patient: {error}", status=error.status)
    launch = EhrLaunch.objects.create(code=secrets.token_urlsafe(24), user=request.user, application=application,
                                      patient_id=patient_id, expires=timezone.now() + timedelta(minutes=5))
    separator = "&" if "?" in profile.launch_uri else "?"
    return redirect(f"{profile.launch_uri}{separator}iss={fhir_base(request)}&launch={launch.code}")


def _introspecting_client(request) -> Application | None:
    """A confidential client (HTTP Basic or a signed assertion) may ask about tokens."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:6].lower() == "basic ":
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        application = Application.objects.filter(client_id=client_id).first()
        if application and application.client_type == Application.CLIENT_CONFIDENTIAL and check_password(
            secret, application.client_secret
        ):
            return application
        return None
    return oauth.verify_client_assertion(request.POST.get("client_assertion_type"),
                                         request.POST.get("client_assertion"),
                                         request.build_absolute_uri(request.path))


@csrf_exempt
@require_POST
def introspect(request):
    """RFC 7662 token introspection, with SMART's `patient` and `fhirUser` when they apply."""
    if _introspecting_client(request) is None:
        response = JsonResponse({"error": "invalid_client"}, status=401)
        response["WWW-Authenticate"] = 'Basic realm="mederi"'
        return response
    raw = request.POST.get("token", "")
    token = (AccessToken.objects.select_related("user", "application", "application__user")
             .filter(token_checksum=token_checksum(raw)).first() if raw else None)
    if token is None or token.is_expired():
        return JsonResponse({"active": False})
    user = token.user or token.application.user
    if user is None or not user.is_active:
        return JsonResponse({"active": False})
    answer = {"active": True, "scope": token.scope, "client_id": token.application.client_id,
              "username": user.get_username(), "sub": str(user.pk), "token_type": "Bearer",
              "exp": int(token.expires.timestamp()), "iat": int(token.created.timestamp())}
    launch = LaunchContext.objects.filter(access_token=token).first()
    if launch is not None:
        answer["patient"] = launch.patient_id
    profile = Profile.objects.filter(user=user).first()
    if profile is not None and profile.kind == Profile.PATIENT:
        answer["fhirUser"] = f"{fhir_base(request)}/Patient/{profile.patient_id}"
    elif profile is not None and profile.practitioner_id:
        answer["fhirUser"] = f"{fhir_base(request)}/Practitioner/{profile.practitioner_id}"
    return JsonResponse(answer)
