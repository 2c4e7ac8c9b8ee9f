"""The reports' own copy of what they count about each appointment (an operational table).

Appointments are FHIR resources in the record; counting a quarter of them straight from the
record's search index means several index lookups per appointment, which for a busy practice is
most of a second. `AppointmentFact` keeps one narrow row per appointment with exactly what the
reports group by, so a quarter is one range scan of a small table. It is a cache checked against
the record before every report (facts.py), never a source of truth: rows are added and dropped
to match the record, and the whole table may be emptied at any time.
"""

from django.db import models


class AppointmentFact(models.Model):
    # The id of the appointment's row in the record's date index (`fhir_idx_date`, its start).
    # The repository replaces every index row of a resource on each write, so a new id means the
    # appointment changed (or is new), and an id that no longer exists means this row is stale.
    date_row_id = models.BigIntegerField(unique=True)
    appointment_id = models.CharField(max_length=64)
    start = models.DateTimeField()
    minutes = models.PositiveIntegerField(default=0)  # end - start, whole minutes
    status = models.CharField(max_length=32)
    type_code = models.CharField(max_length=64, blank=True, default="")  # of the practice's type system
    practitioner_id = models.CharField(max_length=64, blank=True, default="")  # the first Practitioner participant
    location_id = models.CharField(max_length=64, blank=True, default="")  # the first Location participant

    class Meta:
        db_table = "reports_appointment_fact"
        indexes = [
            # Covering: a report (and the check for stale facts) reads only the index, never the table.
            models.Index(fields=["start", "status", "type_code", "practitioner_id", "location_id", "minutes",
                                 "date_row_id"], name="reports_fact_period"),
        ]

    def __str__(self) -> str:
        return f"Appointment/{self.appointment_id} {self.status} {self.start:%Y-%m-%d %H:%M}"
