"""Appointment reminders and confirmations: rules per appointment type, messages by email, SMS
and voice, delivery tracking, and patients' "C"/"X" replies that confirm or cancel."""
