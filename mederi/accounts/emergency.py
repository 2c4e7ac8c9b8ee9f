"""Emergency access ("break the glass"): reaching a restricted record in an emergency.

A person holding `record.break_glass` states a reason and receives access to one restricted
patient's record for `MEDERI_EMERGENCY_ACCESS_MINUTES`. The grant, every access made under it
(flagged with the purpose `emergency` in the audit log) and its end are logged; refused attempts
are logged too. The grants and what was done under them are reviewed in the audit app's
emergency access report (`/audit/emergency/`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from mederi.accounts.context import context_for_user
from mederi.accounts.models import EmergencyAccess
from mederi.accounts.selectors import permissions_for
from mederi.audit import services as audit
from mederi.audit.models import AuditEntry
from mederi.core import clock, epoch
from mederi.core.context import Context
from mederi.core.errors import Forbidden, Gone, InvalidRequest, NotFound
from mederi.fhir.repository import Repository

PERMISSION = "record.break_glass"
PURPOSE = "emergency"  # the audit purpose of every access under a grant (v3-ActReason ETREAT)
MIN_REASON = 10
MAX_REASON = 2000
GRANTED = "emergency-access"
ENDED = "emergency-access-end"
_PATIENT_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}", re.ASCII)


def may_break_glass(user) -> bool:
    return PERMISSION in permissions_for(user)


def grant_minutes() -> int:
    return max(1, int(getattr(settings, "MEDERI_EMERGENCY_ACCESS_MINUTES", 60)))


def _context(user, remote_addr: str | None) -> Context:
    # The grant and its end are emergency events themselves, whatever grants are in force.
    return replace(context_for_user(user, remote_addr), purpose=PURPOSE)


def _checked_reason(reason) -> str:
    text = str(reason or "").strip()
    if len(text) < MIN_REASON:
        raise InvalidRequest.single(
            f"give the reason for the emergency access in at least {MIN_REASON} characters "
            "(for example: unconscious patient in the emergency room, no consent possible)",
            code="required", expression="reason")
    if len(text) > MAX_REASON:
        raise InvalidRequest.single(f"the reason is too long: keep it under {MAX_REASON} characters",
                                    expression="reason")
    return text


def _checked_patient(patient_id) -> str:
    text = str(patient_id or "").strip()
    if text.startswith("Patient/"):
        text = text[len("Patient/"):]
    if not text:
        raise InvalidRequest.single("name the patient: their record id (Patient/<id>)", code="required",
                                    expression="patient")
    if not _PATIENT_ID.fullmatch(text):
        raise InvalidRequest.single(f"'{text}' is not a patient id: ids are 1 to 64 letters, digits, '-' or '.'",
                                    expression="patient")
    try:
        Repository(Context.system()).read("Patient", text)
    except (NotFound, Gone):
        raise NotFound(f"there is no patient with the id '{text}'; check the id in the record") from None
    return text


def break_glass(user, patient_id: str, reason: str, remote_addr: str | None = None) -> EmergencyAccess:
    """Open one patient's record to `user` for a short time, for the reason they give.

    A refused attempt (no permission) is logged as `denied` and raises `Forbidden`; a missing or
    short reason or an unknown patient raises and stores nothing. A grant already in force for
    the same person and patient is ended and replaced, so accesses are never counted twice.
    """
    context = _context(user, remote_addr)
    if not may_break_glass(user):
        with transaction.atomic():  # kept even though the caller sees an error
            audit.record(context, GRANTED, "denied", patient_id=str(patient_id or "").strip()[:64] or None,
                         detail={"reason": str(reason or "").strip()[:MAX_REASON]})
        raise Forbidden("your roles do not allow emergency access to restricted records (it needs the "
                        f"permission {PERMISSION}, held by physicians); ask a physician or your practice "
                        "administrator")
    text = _checked_reason(reason)
    patient = _checked_patient(patient_id)
    with transaction.atomic():
        now = clock.now()
        replaced = list(EmergencyAccess.objects.select_for_update().filter(
            user=user, patient_id=patient, ended__isnull=True, expires__gt=now).values_list("pk", flat=True))
        if replaced:
            EmergencyAccess.objects.filter(pk__in=replaced).update(ended=now)
        grant = EmergencyAccess.objects.create(user=user, patient_id=patient, reason=text, started=now,
                                               expires=now + timedelta(minutes=grant_minutes()))
        epoch.bump()
        detail = {"reason": text, "expires": grant.expires.isoformat(), "grant": grant.pk}
        if replaced:
            detail["replaces"] = replaced
        audit.record(context, GRANTED, patient_id=patient, resource_type="Patient",
                     resource_ids=[f"Patient/{patient}"], detail=detail)
    return grant


def end_emergency_access(user, grant_id, remote_addr: str | None = None) -> EmergencyAccess:
    """End one of the user's own grants before it expires."""
    with transaction.atomic():
        grant = EmergencyAccess.objects.select_for_update().filter(pk=_grant_pk(grant_id), user=user).first()
        if grant is None:
            raise NotFound(f"you hold no emergency access with the number {grant_id}")
        now = clock.now()
        if grant.ended is not None or grant.expires <= now:
            raise InvalidRequest.single(f"this emergency access to patient {grant.patient_id} has already ended",
                                        code="business-rule")
        grant.ended = now
        grant.save(update_fields=["ended"])
        epoch.bump()
        audit.record(_context(user, remote_addr), ENDED, patient_id=grant.patient_id, resource_type="Patient",
                     resource_ids=[f"Patient/{grant.patient_id}"], detail={"grant": grant.pk})
    return grant


def _grant_pk(grant_id) -> int:
    try:
        return int(grant_id)
    except (TypeError, ValueError):
        raise NotFound(f"'{grant_id}' is not the number of an emergency access") from None


# -- reads ----------------------------------------------------------------------------------------


def active_grants(user):
    """The user's grants in force, soonest to expire first."""
    return list(EmergencyAccess.objects.filter(user=user, ended__isnull=True, expires__gt=clock.now())
                .order_by("expires", "pk"))


def accesses_under(grant: EmergencyAccess):
    """The audit entries of what the grant's holder did in that patient's record while it was in force."""
    until = grant.ended or grant.expires  # a grant is only ever ended before it expires
    return (AuditEntry.objects.filter(actor_user_id=grant.user_id, patient_id=grant.patient_id, purpose=PURPOSE,
                                      recorded__gte=grant.started, recorded__lte=until)
            .exclude(action__in=(GRANTED, ENDED)))


def grants_with_access_counts():
    """Every grant, newest first, with `accesses`: how many audit entries were made under it."""
    end = Coalesce(OuterRef("ended"), OuterRef("expires"))
    counted = (AuditEntry.objects.filter(actor_user_id=OuterRef("user_id"), patient_id=OuterRef("patient_id"),
                                         purpose=PURPOSE, recorded__gte=OuterRef("started"), recorded__lte=end)
               .exclude(action__in=(GRANTED, ENDED)).order_by().values("actor_user_id")
               .annotate(n=Count("id")).values("n"))
    return (EmergencyAccess.objects.select_related("user")
            .annotate(accesses=Coalesce(Subquery(counted), 0))
            .order_by("-started", "-pk"))


def is_active(grant: EmergencyAccess) -> bool:
    return grant.ended is None and grant.expires > clock.now()

