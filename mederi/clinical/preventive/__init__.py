"""Preventive care: USPSTF screening and CDC adult immunization reminders computed from the record,
and the quality measures (CMS122/165/138-style) counted over the practice's patients."""
