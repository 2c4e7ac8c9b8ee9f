from django import forms
from django.contrib.auth.forms import AuthenticationForm

from mederi.accounts import mfa


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That username and password do not match. Check them and try again; "
                         "after 5 failed attempts the account is locked for 15 minutes.",
        "inactive": "This account has been deactivated. Ask your practice administrator.",
    }


class CodeForm(forms.Form):
    """The 6-digit code from the authenticator app."""

    code = forms.CharField(max_length=20, strip=True)

    def clean_code(self):
        code = mfa.normalise_code(self.cleaned_data["code"])
        if code is None:
            raise forms.ValidationError("Enter the 6 digits your authenticator app shows.")
        return code
