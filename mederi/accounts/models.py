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
