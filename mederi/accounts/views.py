from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from mederi.accounts import mfa, working_location
from mederi.accounts.forms import CodeForm, LoginForm
from mederi.accounts.models import MfaDevice

MAX_CODE_FAILURES = 5

WRONG_CODE = ("That code is not right. Enter the code your authenticator app shows now (check that the "
              "phone's clock is set automatically); after 5 wrong codes the sign-in ends and the account "
              "is locked for 15 minutes.")
REUSED_CODE = "That code has already been used. Wait for the app to show the next code and enter that one."


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        """A correct password signs a person in, unless a code is owed first (staff MFA)."""
        user = form.get_user()
        step = mfa.requirement(user)
        if step is None:
            mfa.end(self.request)
            return super().form_valid(form)
        mfa.begin(self.request, user, self.get_success_url(), step)
        return redirect("accounts:mfa_enrol" if step == mfa.ENROL else "accounts:mfa")


class LogoutView(auth_views.LogoutView):
    pass


def _pending_user(request):
    state = mfa.pending(request)
    if state is None:
        return None, None
    user = get_user_model().objects.filter(pk=state["user"], is_active=True).first()
    if user is None:
        mfa.end(request)
    return state, user


def _start_again(request):
    messages.info(request, "Your sign-in has expired or ended. Enter your username and password again.")
    return redirect(settings.LOGIN_URL)


def _complete(request, user, state):
    next_url = state.get("next") or settings.LOGIN_REDIRECT_URL
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = settings.LOGIN_REDIRECT_URL
    mfa.end(request)
    login(request, user, backend=state["backend"])
    return redirect(next_url)


def _failed(request, user, state):
    """Count a wrong code like a wrong password; after 5, end the pending sign-in."""
    state["failures"] = state.get("failures", 0) + 1
    request.session[mfa.PENDING] = state
    credentials = {"username": user.get_username()}
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    if state["failures"] >= MAX_CODE_FAILURES or AxesProxyHandler.is_locked(request, credentials):
        mfa.end(request)
        return render(request, "accounts/lockout.html", status=429)
    return None


def _check(request, user, state, device, form, template, context):
    if request.method == "POST":
        if form.is_valid():
            result = mfa.check_code(device, form.cleaned_data["code"])
            if result == mfa.OK:
                return None
            form.add_error("code", REUSED_CODE if result == mfa.REUSED else WRONG_CODE)
        locked = _failed(request, user, state)
        if locked is not None:
            return locked
    return render(request, template, {"form": form, **context})


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def verify(request):
    """The second step of a sign-in: the code from the authenticator app."""
    state, user = _pending_user(request)
    if user is None:
        return _start_again(request)
    if state["step"] != mfa.VERIFY:
        return redirect("accounts:mfa_enrol")
    device = MfaDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        mfa.end(request)
        return _start_again(request)
    form = CodeForm(request.POST or None)
    response = _check(request, user, state, device, form, "accounts/mfa_verify.html", {})
    if response is not None:
        return response
    return _complete(request, user, state)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def enrol(request):
    """First sign-in of a staff member who must use MFA: set up the authenticator app."""
    state, user = _pending_user(request)
    if user is None:
        return _start_again(request)
    if state["step"] != mfa.ENROL:
        return redirect("accounts:mfa")
    device = MfaDevice.objects.filter(user=user).first()
    if device is None:
        device = MfaDevice.objects.create(user=user, secret=mfa.new_secret())
    elif device.confirmed:  # enrolled meanwhile (another tab): the code is checked as usual
        state["step"] = mfa.VERIFY
        request.session[mfa.PENDING] = state
        return redirect("accounts:mfa")
    uri = mfa.provisioning_uri(device.secret, user.get_username())
    context = {"secret": device.secret, "secret_groups": " ".join(device.secret[i:i + 4]
                                                                   for i in range(0, len(device.secret), 4)),
               "uri": uri, "qr": mfa.qr_data_uri(uri)}
    form = CodeForm(request.POST or None)
    response = _check(request, user, state, device, form, "accounts/mfa_enrol.html", context)
    if response is not None:
        return response
    mfa.confirm_device(device, request)
    messages.success(request, "Two-step sign-in is set up. From now on you will be asked for a code.")
    return _complete(request, user, state)


@never_cache
@login_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def choose_location(request):
    """Where are you working today? Roles given for one location apply only there."""
    choices = working_location.choices(request.user)
    next_url = request.POST.get("next") or request.GET.get("next") or settings.LOGIN_REDIRECT_URL
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = settings.LOGIN_REDIRECT_URL
    error = None
    if request.method == "POST":
        chosen = request.POST.get("location", "")
        if working_location.choose(request, chosen):
            messages.success(request, f"You are working at {working_location.name_of(chosen)}.")
            return redirect(next_url)
        error = "Choose one of the locations listed: you hold no role at any other."
    return render(request, "accounts/location.html", {
        "choices": choices, "current": working_location.of_request(request), "next": next_url, "error": error,
    }, status=400 if error else 200)
