"""The administration screens: staff accounts, roles and OAuth clients.

Every page needs a signed-in person holding `accounts.manage`; anyone else gets a page that
says why not. Views only read forms and call `services`, which write and audit; each change is
logged in the name of the administrator who made it. Forms post and redirect, so every page
works without JavaScript; with htmx the role list of a user is replaced in place.
"""

from __future__ import annotations

import functools
import json

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from mederi.accounts import admin_forms, selectors, services
from mederi.accounts.context import context_for_request, permissions_for_request
from mederi.accounts.models import ClientProfile, MfaDevice, Profile, Role, RoleAssignment
from mederi.accounts.permissions import all_permissions
from mederi.core import crypto
from mederi.core.errors import MederiError

PERMISSION = "accounts.manage"
PAGE_SIZE = 50
NEW_SECRET = "mederi_new_client_secret"  # a just-registered client's secret, until its page shows it once


def admin_view(view):
    """Signed in and allowed to manage accounts; anyone else is told why not (403)."""

    @login_required
    @require_http_methods(["GET", "POST"])
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if PERMISSION not in permissions_for_request(request):
            return render(request, "accounts/admin/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _actor(request):
    return context_for_request(request)


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _location_names() -> dict[str, str]:
    return dict(selectors.locations())


# -- users -------------------------------------------------------------------------------------

def _user_row(user, location_names: dict[str, str]) -> dict:
    profile = getattr(user, "profile", None)
    device = getattr(user, "mfa_device", None)
    return {
        "user": user, "full_name": getattr(profile, "full_name", "") or user.get_full_name(),
        "kind": profile.get_kind_display() if profile else "—",
        "roles": [(a.role.name, location_names.get(a.location_id, a.location_id) if a.location_id else "")
                  for a in user.role_assignments.all()],
        "mfa": bool(device and device.confirmed), "mfa_required": bool(profile and profile.mfa_required),
    }


@admin_view
def user_list(request):
    page = Paginator(selectors.users_for_admin(), PAGE_SIZE).get_page(request.GET.get("page"))
    names = _location_names()
    return render(request, "accounts/admin/users.html",
                  {"page": page, "rows": [_user_row(user, names) for user in page.object_list]})


@admin_view
def user_new(request):
    form = admin_forms.StaffUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.create_staff_user(
                data["username"], data["password"], data["full_name"],
                roles=[(slug, data["location"]) for slug in data["roles"]],
                practitioner_id=data["practitioner_id"].strip(), mfa_required=data["mfa_required"],
                actor=_actor(request))
        except MederiError as error:
            admin_forms.add_service_error(form, error)
        else:
            messages.success(request, f"The account '{user.get_username()}' was created.")
            return redirect("accounts:admin-user", user_id=user.pk)
    return render(request, "accounts/admin/user_new.html", {"form": form})


def _user_context(user, assign_form=None, role_error: str = "", role_notice: str = "") -> dict:
    names = _location_names()
    assignments = [{"role": a.role, "location_id": a.location_id,
                    "location": names.get(a.location_id, f"{a.location_id} (not in the record)")
                    if a.location_id else "Every location"}
                   for a in RoleAssignment.objects.filter(user=user).select_related("role")
                   .order_by("role__name", "location_id")]
    return {"subject": user, "profile": Profile.objects.filter(user=user).first(),
            "mfa": MfaDevice.objects.filter(user=user).first(), "assignments": assignments,
            "assign_form": assign_form or admin_forms.AssignRoleForm(), "role_error": role_error,
            "role_notice": role_notice}


@admin_view
def user_detail(request, user_id: int):
    user = get_object_or_404(get_user_model(), pk=user_id)
    return render(request, "accounts/admin/user.html", _user_context(user))


def _roles_changed(request, user, *, form=None, error: str = "", notice: str = ""):
    """After an assignment or removal: the role list alone for htmx, the whole page otherwise."""
    if _is_htmx(request):
        return render(request, "accounts/admin/_user_roles.html", _user_context(user, form, error, notice))
    if error:
        messages.error(request, error)
    elif notice:
        messages.success(request, notice)
    return redirect("accounts:admin-user", user_id=user.pk)


def _where(location_id: str) -> str:
    return f"at {_location_names().get(location_id, location_id)}" if location_id else "at every location"


@admin_view
@require_POST
def user_assign_role(request, user_id: int):
    user = get_object_or_404(get_user_model(), pk=user_id)
    form = admin_forms.AssignRoleForm(request.POST)
    if not form.is_valid():
        return _roles_changed(request, user, form=form, error="Choose a role, and a location from the list.")
    slug, location = form.cleaned_data["role"], form.cleaned_data["location"]
    if RoleAssignment.objects.filter(user=user, role__slug=slug, location_id=location).exists():
        return _roles_changed(request, user, form=form, error="They have that role there already.")
    try:
        assignment = services.assign_role(user, slug, location, actor=_actor(request))
    except MederiError as error:
        return _roles_changed(request, user, form=form, error=str(error))
    return _roles_changed(request, user, notice=f"{assignment.role.name} given {_where(location)}.")


@admin_view
@require_POST
def user_remove_role(request, user_id: int):
    user = get_object_or_404(get_user_model(), pk=user_id)
    form = admin_forms.RemoveRoleForm(request.POST)
    if not form.is_valid():
        return _roles_changed(request, user, error="That role could not be found; reload the page.")
    data = form.cleaned_data
    role = Role.objects.filter(slug=data["role"]).first()
    services.remove_role(user, data["role"], data["location"], actor=_actor(request))
    name = role.name if role else data["role"]
    return _roles_changed(request, user, notice=f"{name} taken away {_where(data['location'])}.")


@admin_view
def user_deactivate(request, user_id: int):
    """A confirmation page, then the deactivation: every session and token of theirs ends at once."""
    user = get_object_or_404(get_user_model(), pk=user_id)
    if user.pk == request.user.pk:
        messages.error(request, "You cannot deactivate your own account; ask another administrator.")
        return redirect("accounts:admin-user", user_id=user.pk)
    if request.method == "POST":
        ended = services.deactivate_user(user, actor=_actor(request))
        messages.success(request, f"'{user.get_username()}' is deactivated: {ended} signed-in "
                                  f"session{'' if ended == 1 else 's'} ended and every OAuth token revoked.")
        return redirect("accounts:admin-user", user_id=user.pk)
    return render(request, "accounts/admin/user_deactivate.html", {"subject": user})


@admin_view
@require_POST
def user_reactivate(request, user_id: int):
    user = get_object_or_404(get_user_model(), pk=user_id)
    services.reactivate_user(user, actor=_actor(request))
    messages.success(request, f"'{user.get_username()}' can sign in again.")
    return redirect("accounts:admin-user", user_id=user.pk)


@admin_view
@require_POST
def user_reset_mfa(request, user_id: int):
    user = get_object_or_404(get_user_model(), pk=user_id)
    if services.reset_mfa(user, actor=_actor(request)):
        messages.success(request, f"'{user.get_username()}' will set up their authenticator app again at their "
                                  "next sign-in.")
    else:
        messages.info(request, f"'{user.get_username()}' had no authenticator app set up.")
    return redirect("accounts:admin-user", user_id=user.pk)


# -- roles -------------------------------------------------------------------------------------

def _labelled(codes) -> list[tuple[str, str]]:
    labels = all_permissions()
    return [(code, labels.get(code, code)) for code in sorted(codes)]


@admin_view
def role_list(request):
    roles = [{"role": role, "permissions": _labelled(role.permissions)} for role in Role.objects.order_by("name")]
    return render(request, "accounts/admin/roles.html", {
        "shipped": [r for r in roles if r["role"].builtin], "custom": [r for r in roles if not r["role"].builtin]})


@admin_view
def role_new(request):
    initial = {}
    source = Role.objects.filter(slug=request.GET.get("from", "")).first()
    if source is not None:  # start from a copy of another role
        initial = {"name": f"{source.name} (copy)", "description": source.description,
                   "permissions": source.permissions}
    form = admin_forms.RoleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            role = services.create_role(data["slug"], data["name"], data["permissions"],
                                        description=data["description"], actor=_actor(request))
        except MederiError as error:
            admin_forms.add_service_error(form, error)
        else:
            messages.success(request, f"The role '{role.name}' was created.")
            return redirect("accounts:admin-role", slug=role.slug)
    selected = form.data.getlist("permissions") if form.is_bound else initial.get("permissions", ())
    return render(request, "accounts/admin/role_new.html",
                  {"form": form, "grid": admin_forms.permission_grid(selected)})


@admin_view
def role_detail(request, slug: str):
    role = get_object_or_404(Role, slug=slug)
    form = admin_forms.RolePermissionsForm(request.POST or None)
    if request.method == "POST":
        if role.builtin:
            messages.error(request, f"'{role.name}' is a shipped role and cannot be changed; copy it into a new role.")
            return redirect("accounts:admin-role", slug=role.slug)
        if form.is_valid():
            try:
                services.update_role(role, form.cleaned_data["permissions"], actor=_actor(request))
            except MederiError as error:
                admin_forms.add_service_error(form, error)
            else:
                messages.success(request, f"The permissions of '{role.name}' were saved.")
                return redirect("accounts:admin-role", slug=role.slug)
    selected = form.data.getlist("permissions") if form.is_bound else role.permissions
    holders = (RoleAssignment.objects.filter(role=role).select_related("user").order_by("user__username")
               .values_list("user__username", "user_id", "location_id"))
    names = _location_names()
    return render(request, "accounts/admin/role.html", {
        "role": role, "form": form, "grid": admin_forms.permission_grid(selected),
        "permissions": _labelled(role.permissions),
        "holders": [(username, user_id, names.get(loc, loc) if loc else "Every location")
                    for username, user_id, loc in holders]})


# -- OAuth clients -----------------------------------------------------------------------------

def _profile_of(application):
    try:
        return application.mederi_profile
    except ClientProfile.DoesNotExist:
        return None


@admin_view
def app_list(request):
    apps = [{"app": app, "profile": _profile_of(app)} for app in selectors.clients_for_admin()]
    return render(request, "accounts/admin/apps.html", {"apps": apps})


@admin_view
def app_new(request):
    form = admin_forms.ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            application, secret = services.register_client(
                kind=data["kind"], client_type=data["client_type"], actor=_actor(request),
                **form.service_arguments())
        except MederiError as error:
            admin_forms.add_service_error(form, error)
        else:
            if secret:
                # Carried to the next page encrypted, and dropped from the session when shown.
                request.session[NEW_SECRET] = {"app": application.pk, "secret": crypto.encrypt(secret)}
            messages.success(request, f"The client '{application.name}' is registered.")
            return redirect("accounts:admin-app", app_id=application.pk)
    return render(request, "accounts/admin/app_new.html", {"form": form})


def _client_initial(application, profile) -> dict:
    return {"name": application.name, "redirect_uris": "\n".join(application.redirect_uris.split()),
            "allowed_scopes": profile.allowed_scopes if profile else "",
            "launch_uri": profile.launch_uri if profile else "", "jwks_uri": profile.jwks_uri if profile else "",
            "jwks": _json_text(profile.jwks) if profile and profile.jwks is not None else "",
            "service_user": application.user_id}


def _json_text(value) -> str:
    return json.dumps(value, indent=2)


@admin_view
def app_detail(request, app_id: int):
    from oauth2_provider.models import AccessToken, RefreshToken

    application = get_object_or_404(selectors.clients_for_admin(), pk=app_id)
    profile = _profile_of(application)
    form = admin_forms.ClientForm(request.POST or None, editing=True,
                                  initial=_client_initial(application, profile))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_client(application, actor=_actor(request), **form.service_arguments())
        except MederiError as error:
            admin_forms.add_service_error(form, error)
        else:
            messages.success(request, f"The client '{application.name}' was saved.")
            return redirect("accounts:admin-app", app_id=application.pk)
    secret = None
    pending = request.session.pop(NEW_SECRET, None)
    if pending and pending.get("app") == application.pk:
        secret = crypto.decrypt(pending["secret"])
    return render(request, "accounts/admin/app.html", {
        "app": application, "profile": profile, "form": form, "secret": secret,
        "tokens": AccessToken.objects.filter(application=application).count(),
        "refresh_tokens": RefreshToken.objects.filter(application=application, revoked__isnull=True).count()})


@admin_view
def app_revoke(request, app_id: int):
    """A confirmation page, then the removal of the client and everything issued to it."""
    application = get_object_or_404(selectors.clients_for_admin(), pk=app_id)
    if request.method == "POST":
        name = application.name
        removed = services.revoke_client(application, actor=_actor(request))
        messages.success(request, f"The client '{name}' was removed, with {removed['access_tokens']} access "
                                  f"token(s) and {removed['refresh_tokens']} refresh token(s).")
        return redirect("accounts:admin-apps")
    return render(request, "accounts/admin/app_revoke.html", {"app": application})
