from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That username and password do not match. Check them and try again; "
                         "after 5 failed attempts the account is locked for 15 minutes.",
        "inactive": "This account has been deactivated. Ask your practice administrator.",
    }
