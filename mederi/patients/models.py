"""Operational tables of registration (the patients themselves are FHIR resources in the record)."""

from django.db import models


class MrnCounter(models.Model):
    """The last medical record number handed out, so two registrations never get the same one.

    One row; allocating takes its lock (PostgreSQL row lock, SQLite's single writer), so numbers
    are unique even when two front desks register at the same moment. A number taken by a
    registration that then fails is not reused: gaps are harmless, duplicates are not.
    """

    last = models.PositiveBigIntegerField(default=0)

    class Meta:
        db_table = "patients_mrn_counter"
