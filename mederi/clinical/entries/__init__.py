"""The chart's structured entries: vitals, problems, allergies, medications (with reconciliation),
immunizations, smoking status and family history.

Each kind has a service module (validate, then write FHIR resources through the repository in one
transaction; every problem names the form field it belongs to) and an htmx partial served at
`clinical:entries` (`clinical/patients/<patient_id>/entries/<kind>/`), which the chart and the visit
note page both embed.
"""
