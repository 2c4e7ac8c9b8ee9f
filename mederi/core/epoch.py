"""Read and raise the security epoch (see `core.models.SecurityEpoch`)."""

from django.db import connection
from django.db.models import F

from mederi.core.models import SecurityEpoch


def current() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM core_security_epoch WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else 0


def bump() -> None:
    """Call inside the transaction of the change: readers see the new value when it commits."""
    if not SecurityEpoch.objects.filter(pk=1).update(value=F("value") + 1):
        SecurityEpoch.objects.get_or_create(pk=1, defaults={"value": 1})
