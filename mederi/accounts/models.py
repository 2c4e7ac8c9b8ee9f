"""Who may sign in, in which capacity, and with which roles (operational tables, not FHIR)."""

from django.conf import settings
from django.db import models

from mederi.core.crypto import EncryptedTextField


class Role(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    permissions = models.JSONField(default=list)  # permission codes, see accounts.permissions
    builtin = models.BooleanField(default=False)  # shipped roles are kept in step with the code

    class Meta:
        db_table = "accounts_role"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RoleAssignment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="assignments")
    location_id = models.CharField(max_length=64, blank=True)  # FHIR Location id; blank = every location

    class Meta:
        db_table = "accounts_role_assignment"
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "location_id"], name="accounts_one_assignment"),
        ]


class Profile(models.Model):
    STAFF, PATIENT = "staff", "patient"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    kind = models.CharField(max_length=16, choices=[(STAFF, "Staff"), (PATIENT, "Patient")])
    full_name = models.CharField(max_length=200, blank=True)
    practitioner_id = models.CharField(max_length=64, blank=True)  # FHIR Practitioner this person is
    patient_id = models.CharField(max_length=64, blank=True)  # FHIR Patient a patient user is
    mfa_required = models.BooleanField(default=True)

    class Meta:
        db_table = "accounts_profile"


class MfaDevice(models.Model):
    """A staff member's authenticator app: the shared TOTP secret, encrypted at rest."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mfa_device")
    secret = EncryptedTextField()  # base32, as shown to the person at enrolment
    confirmed = models.BooleanField(default=False)  # a first code was entered correctly
    created = models.DateTimeField(auto_now_add=True)
    last_used_step = models.BigIntegerField(default=0)  # a code of this 30-second step or earlier is refused

    class Meta:
        db_table = "accounts_mfa_device"


class ClientProfile(models.Model):
    """What Mederi keeps about an OAuth client beside django-oauth-toolkit's Application."""

    APP, BACKEND = "app", "backend"

    application = models.OneToOneField("oauth2_provider.Application", on_delete=models.CASCADE,
                                       related_name="mederi_profile")
    kind = models.CharField(max_length=16, choices=[(APP, "SMART app (a person signs in)"),
                                                    (BACKEND, "Backend service (system access)")], default=APP)
    allowed_scopes = models.TextField(blank=True)  # space-separated; blank = any SMART scope
    launch_uri = models.URLField(blank=True)  # where an EHR launch sends the browser
    jwks = models.JSONField(null=True, blank=True)  # registered public keys for private_key_jwt
    jwks_uri = models.URLField(blank=True)  # or where to fetch them

    class Meta:
        db_table = "accounts_client_profile"


class LaunchContext(models.Model):
    """The patient an authorisation was given for, and the location the person who gave it was
    working at; they travel from code to tokens to refreshes."""

    grant_code = models.CharField(max_length=255, blank=True, db_index=True)
    access_token = models.OneToOneField("oauth2_provider.AccessToken", null=True, on_delete=models.CASCADE,
                                        related_name="launch_context")
    refresh_token = models.OneToOneField("oauth2_provider.RefreshToken", null=True, on_delete=models.CASCADE,
                                         related_name="launch_context")
    patient_id = models.CharField(max_length=64, blank=True)
    location_id = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "accounts_launch_context"


class EhrLaunch(models.Model):
    """An app opened from inside Mederi for one patient: the opaque `launch` value it is given."""

    code = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    application = models.ForeignKey("oauth2_provider.Application", on_delete=models.CASCADE)
    patient_id = models.CharField(max_length=64)
    expires = models.DateTimeField()

    class Meta:
        db_table = "accounts_ehr_launch"


class UsedAssertion(models.Model):
    """`jti` values of client assertions already used: each may be presented once."""

    client_id = models.CharField(max_length=100)
    jti = models.CharField(max_length=255)
    expires = models.DateTimeField()

    class Meta:
        db_table = "accounts_used_assertion"
        constraints = [models.UniqueConstraint(fields=["client_id", "jti"], name="accounts_assertion_once")]


class EmergencyAccess(models.Model):
    """A break-the-glass grant: one user, one restricted patient, a reason, a short time."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="emergency_accesses")
    patient_id = models.CharField(max_length=64)
    reason = models.TextField()
    started = models.DateTimeField()
    expires = models.DateTimeField()
    ended = models.DateTimeField(null=True, blank=True)  # ended early by the user

    class Meta:
        db_table = "accounts_emergency_access"
        indexes = [models.Index(fields=["user", "expires"], name="accounts_emergency_open")]
