"""Claim adjustment reason codes (CARC) in our own words, and what a biller does next about each denial."""

from __future__ import annotations

# code: (what the payer means, the next action)
REASONS: dict[str, tuple[str, str]] = {
    "1": ("Deductible", "Bill the patient: the amount counts toward their deductible."),
    "2": ("Coinsurance", "Bill the patient for their coinsurance share."),
    "3": ("Copay", "Bill the patient for the copay, unless it was taken at the desk."),
    "4": ("Modifier missing or wrong for the procedure", "Fix the modifier on the line and send a corrected claim."),
    "5": ("Procedure does not fit the place of service", "Check the place of service, correct it and resubmit."),
    "11": ("Diagnosis does not support the procedure", "Review the coding with the clinician; correct and resubmit."),
    "16": ("Claim lacks information", "Read the remark codes, add what is missing and resubmit."),
    "18": ("Duplicate claim or service", "Check whether the first claim was paid; if so, close this one."),
    "22": ("Another payer may be primary", "Update coordination of benefits and bill the primary payer first."),
    "23": ("Prior payer's adjudication", "No action: the amount reflects what the primary payer did."),
    "27": ("Coverage had ended on the date of service", "Verify eligibility; bill the right coverage or the patient."),
    "29": ("Timely filing limit passed", "Appeal with proof of timely filing, or write the balance off."),
    "31": ("Patient not identified as insured by this payer", "Check the member id and name; correct and resubmit."),
    "45": ("Charge exceeds the fee schedule", "No action: contractual write-down."),
    "50": ("Not medically necessary in the payer's view", "Appeal with the clinical notes, or bill the patient if an "
           "advance notice was signed."),
    "96": ("Non-covered charge", "Check the remark code; bill the patient if they agreed in advance."),
    "97": ("Included in another service already paid", "Check bundling rules; add a modifier only if it truly applies."),
    "109": ("Not covered by this payer", "Find the right payer for the patient and bill them."),
    "119": ("Benefit maximum reached", "Bill the patient or a secondary payer."),
    "140": ("Patient and insured id do not match", "Correct the subscriber details and resubmit."),
    "167": ("Diagnosis not covered", "Review the diagnosis codes with the clinician; appeal or bill the patient."),
    "181": ("Procedure code not valid on the date of service", "Correct the procedure code and resubmit."),
    "182": ("Modifier not valid on the date of service", "Correct the modifier and resubmit."),
    "185": ("Rendering provider not eligible", "Check the provider's enrolment with the payer; resubmit."),
    "197": ("Prior authorization missing", "Get or find the authorization number and resubmit with it."),
    "204": ("Not covered under the patient's plan", "Bill the patient if they agreed in advance; otherwise write off."),
    "226": ("Information the payer asked for was not sent", "Send the requested records, then ask for reprocessing."),
    "236": ("Procedure not paid with another on the same day", "Review the pair; appeal only with a valid modifier."),
    "242": ("Provider not in the patient's network", "Check network status; bill the patient or appeal."),
    "252": ("Attachment or other documentation required", "Send the documentation the remark code names."),
    "A1": ("Claim or service denied", "Read the remark codes for the reason; correct and resubmit or appeal."),
    "A2": ("Contractual adjustment", "No action: contractual write-down."),
    "B7": ("Provider not certified for this service", "Check credentialing with the payer before resubmitting."),
}
GROUPS = {"CO": "Contractual obligation (not billable to the patient)", "PR": "Patient responsibility",
          "OA": "Other adjustment", "PI": "Payer-initiated reduction", "CR": "Correction or reversal"}
NO_ACTION_REASONS = {"45", "A2", "23"}


def describe(reason: str) -> str:
    return REASONS.get(reason, (f"Reason {reason}", ""))[0]


def next_action(reason: str) -> str:
    known = REASONS.get(reason)
    if known:
        return known[1]
    return f"Look up reason code {reason} and its remark codes; correct and resubmit, appeal, or write off."
