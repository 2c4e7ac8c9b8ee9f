"""Charges, coding and claims: fee schedules, ICD-10-CM checks, charge capture, FHIR Claims and the X12 837P."""
