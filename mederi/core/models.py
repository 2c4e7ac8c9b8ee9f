"""The one operational table every app shares."""

from django.db import models


class SecurityEpoch(models.Model):
    """A counter raised by every change to who may reach what (roles, accounts, tokens,
    emergency access, restricted records). Request handling caches what it derived from those
    tables and throws the cache away when the counter moves: one primary-key read per request
    instead of five lookups, and a revocation still takes effect on the very next request."""

    value = models.BigIntegerField(default=0)

    class Meta:
        db_table = "core_security_epoch"
