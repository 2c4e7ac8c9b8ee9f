"""Django settings for Mederi.

Everything that differs between a laptop and production comes from the environment:
DATABASE_URL, MEDERI_SECRET_KEY, MEDERI_DEBUG, MEDERI_ALLOWED_HOSTS, MEDERI_VAR_DIR.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("MEDERI_VAR_DIR", BASE_DIR.parent / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("MEDERI_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = os.environ.get("MEDERI_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("MEDERI_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "js_lib_htmx",
    "axes",
    "oauth2_provider",
    "mederi.core",
    "mederi.audit",
    "mederi.fhir",
    "mederi.accounts",
    "mederi.clinical",
    "mederi.clinical.drugs",
    "mederi.clinical.notes",
    "mederi.clinical.cds",
    "mederi.clinical.prescribing",
    "mederi.patients",
    "mederi.scheduling",
    "mederi.scheduling.reminders",
    "mederi.billing",
    "mederi.billing.ledger",
    "mederi.billing.remittance",
    "mederi.billing.patient_billing",
    "mederi.interop",
    "mederi.portal",
    "mederi.reports",
    "mederi.ai",
    "mederi.ai.agent",
    "mederi.ai.scribe",
    "mederi.ai.denial",
    "mederi.web",
    "huey.contrib.djhuey",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "mederi.accounts.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "mederi.accounts.middleware.IdleLogoutMiddleware",
    "mederi.accounts.middleware.MfaPendingMiddleware",
    "mederi.accounts.middleware.WorkingLocationMiddleware",
    "mederi.accounts.middleware.BearerTokenMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mederi.urls"
WSGI_APPLICATION = "mederi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mederi.accounts.context_processors.permissions",
            ],
        },
    },
]


def _database_from_env():
    url = os.environ.get("DATABASE_URL")
    if url:
        # Persistent connections: opening one per request halves read throughput.
        config = dj_database_url.parse(url, conn_max_age=600)
        if config["ENGINE"] == "django.db.backends.postgresql":
            # Server-side parameters let PostgreSQL prepare a statement it has seen a few times
            # and skip planning it again: search queries spend more time planned than run.
            config.setdefault("OPTIONS", {})["server_side_binding"] = True
        config.setdefault("TEST", {})
        return config
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "mederi.sqlite3",
        "OPTIONS": {
            # WAL lets readers run beside the one writer; NORMAL sync is durable in WAL mode
            # against application crashes and doubles commit throughput over FULL.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000; PRAGMA mmap_size=1073741824; PRAGMA cache_size=-65536;",
            "transaction_mode": "IMMEDIATE",
        },
        "CONN_MAX_AGE": 600,
    }


DATABASES = {"default": _database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2id first; older hashes are upgraded on the next successful sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses sign-in while an account is locked out
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Lockout: 5 failed sign-ins lock the username for 15 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
AXES_VERBOSE = False
# Locking by address too would let one attacker lock out a whole front desk behind one NAT address.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Multi-factor sign-in (TOTP): a sign-in waiting for its code expires after 5 minutes.
MEDERI_MFA_ISSUER = os.environ.get("MEDERI_MFA_ISSUER", "Mederi")
MEDERI_MFA_PENDING_SECONDS = 300
# Keys encrypting secrets stored in the database (see mederi/core/crypto.py); MEDERI_ENCRYPTION_KEYS
# in the environment takes precedence over the file. Keep the file out of database backups.
MEDERI_KEY_FILE = Path(os.environ.get("MEDERI_KEY_FILE", VAR_DIR / "keys" / "encryption.keys"))

# Sessions: signed out after 15 idle minutes, cookie gone when the browser closes.
MEDERI_IDLE_TIMEOUT_SECONDS = int(os.environ.get("MEDERI_IDLE_TIMEOUT_SECONDS", 15 * 60))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = 12 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Behind TLS (directly or through a proxy) cookies are marked Secure and browsers told to stay on HTTPS.
HTTPS = os.environ.get("MEDERI_HTTPS", "0") == "1"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# OAuth 2.0 for SMART App Launch 2.0 and Backend Services (django-oauth-toolkit). Access tokens
# live an hour and are stored only as SHA-256 checksums; refresh tokens rotate and a reused one
# revokes the family; PKCE with S256 is required of every authorization-code client.
OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 90 * 24 * 3600,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REQUEST_APPROVAL_PROMPT": "force",  # the consent page is where the patient is chosen
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],  # http only makes sense for loopback test apps
    "SCOPES_BACKEND_CLASS": "mederi.accounts.oauth.SmartScopes",
    "OAUTH2_VALIDATOR_CLASS": "mederi.accounts.oauth.SmartValidator",
    "OAUTH2_SERVER_CLASS": "mederi.accounts.oauth.SmartServer",
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
}
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
# Benchmarks only: the API answers without tokens, as the server itself, and keeps no audit log.
# It exists to measure what authentication, authorization and audit cost (benchmarks/); `mederi
# check` fails and `mederi serve` warns while it is set. Never set it where there is real data.
MEDERI_UNSAFE_NO_SECURITY = os.environ.get("MEDERI_UNSAFE_NO_SECURITY", "0") == "1"
# Break the glass: emergency access to a restricted record lasts this long.
MEDERI_EMERGENCY_ACCESS_MINUTES = int(os.environ.get("MEDERI_EMERGENCY_ACCESS_MINUTES", 60))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)

# The FHIR server's public base; links in bundles are built from the request when unset.
FHIR_BASE_URL = os.environ.get("MEDERI_FHIR_BASE_URL", "")
FHIR_DEFAULT_PAGE_SIZE = 20
FHIR_MAX_PAGE_SIZE = 1000
# Official R4 example package (npm hl7.fhir.r4.examples), used by tests and `mederi import --r4-examples`.
FHIR_R4_EXAMPLES_DIR = Path(os.environ.get("MEDERI_R4_EXAMPLES", VAR_DIR / "packages" / "hl7.fhir.r4.examples"))

# Read entries of the audit log are appended in batches at most this often (0: one commit each), or
# sooner when 500 are waiting. Each commit costs every other connection its cached pages on SQLite,
# so fewer, larger batches are what keeps the cost of audited reads low (docs/performance.md).
MEDERI_AUDIT_BUFFER_SECONDS = float(os.environ.get("MEDERI_AUDIT_BUFFER_SECONDS", "0.5"))

# The practice's own clock: availability templates, "tomorrow" for the eligibility batch, reminders.
MEDERI_PRACTICE_TIME_ZONE = os.environ.get("MEDERI_PRACTICE_TIME_ZONE", "America/Chicago")
# The hour (practice time) of the nightly eligibility check of tomorrow's appointments.
MEDERI_ELIGIBILITY_BATCH_HOUR = int(os.environ.get("MEDERI_ELIGIBILITY_BATCH_HOUR", "2"))

# Reminders. "standin-inprocess" keeps messages in a local outbox (/schedule/reminders/outbox/)
# instead of sending them: the default, so an installation not yet set up never messages patients.
MEDERI_EMAIL_PROVIDER = os.environ.get("MEDERI_EMAIL_PROVIDER", "standin-inprocess")  # or "smtp"
MEDERI_SMS_PROVIDER = os.environ.get("MEDERI_SMS_PROVIDER", "standin-inprocess")  # or "twilio" (SMS and voice)
MEDERI_SMTP_HOST = os.environ.get("MEDERI_SMTP_HOST", "localhost")
MEDERI_SMTP_PORT = int(os.environ.get("MEDERI_SMTP_PORT", "25"))
MEDERI_SMTP_USER = os.environ.get("MEDERI_SMTP_USER", "")
MEDERI_SMTP_PASSWORD = os.environ.get("MEDERI_SMTP_PASSWORD", "")
MEDERI_SMTP_STARTTLS = os.environ.get("MEDERI_SMTP_STARTTLS", "") == "1"
MEDERI_SMTP_SSL = os.environ.get("MEDERI_SMTP_SSL", "") == "1"
MEDERI_REMINDER_FROM_EMAIL = os.environ.get("MEDERI_REMINDER_FROM_EMAIL", "reminders@localhost")
MEDERI_SMS_BASE_URL = os.environ.get("MEDERI_SMS_BASE_URL", "https://api.twilio.com")
MEDERI_SMS_ACCOUNT_SID = os.environ.get("MEDERI_SMS_ACCOUNT_SID", "")
MEDERI_SMS_AUTH_TOKEN = os.environ.get("MEDERI_SMS_AUTH_TOKEN", "")  # also signs the provider's webhooks
MEDERI_SMS_FROM = os.environ.get("MEDERI_SMS_FROM", "")
MEDERI_VOICE_FROM = os.environ.get("MEDERI_VOICE_FROM", "")
# The public base URL the SMS provider calls back (delivery reports, replies); none: no callbacks asked.
MEDERI_REMINDER_WEBHOOK_BASE = os.environ.get("MEDERI_REMINDER_WEBHOOK_BASE", "")

# An optional language-model server (OpenAI-compatible chat completions) for the front-desk agent;
# unset, the agent's offline engine answers alone (see mederi/ai/llm.py).
MEDERI_LLM_URL = os.environ.get("MEDERI_LLM_URL", "")
MEDERI_LLM_MODEL = os.environ.get("MEDERI_LLM_MODEL", "")
MEDERI_LLM_API_KEY = os.environ.get("MEDERI_LLM_API_KEY", "")
MEDERI_LLM_TIMEOUT_SECONDS = float(os.environ.get("MEDERI_LLM_TIMEOUT_SECONDS", "8"))

# Background jobs (huey): `mederi worker` runs them. Redis when MEDERI_REDIS_URL is set (several
# app servers and workers share it); otherwise a SQLite file beside the database, for one machine.
# Tests run jobs at once, in the calling thread (see conftest.py).
HUEY = {"name": "mederi", "immediate": False, "utc": True,
        "consumer": {"workers": int(os.environ.get("MEDERI_WORKERS", "2")), "worker_type": "thread"}}
if os.environ.get("MEDERI_REDIS_URL"):
    HUEY.update(huey_class="huey.RedisHuey", connection={"url": os.environ["MEDERI_REDIS_URL"]})
else:
    HUEY.update(huey_class="huey.SqliteHuey", filename=str(VAR_DIR / "jobs.sqlite3"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("MEDERI_LOG_LEVEL", "WARNING")},
}

# Static files are served by the app itself (whitenoise), straight from the installed apps.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
