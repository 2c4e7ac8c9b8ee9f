"""The code lists of the TA1, 999 and 277CA acknowledgements, in words a biller can act on.

TA1 (the interchange acknowledgement): TA104 acknowledgement codes and TA105 note codes.

999 (005010X231A1): IK304 segment errors, IK403 element errors, IK501 / AK901 acknowledgement
codes and the IK502 / AK905 transaction-set and group errors. 277CA (005010X214): the claim status
categories (STC01-1), the most common claim status codes (STC01-2) and entity codes (STC01-3).
The status-code list is the subset clearinghouses send most with acknowledgements, not all of it;
an unlisted code is shown by its number.
"""

from __future__ import annotations

SEGMENT_ERRORS = {  # IK304
    "1": "unrecognized segment",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs more often than allowed",
    "5": "segment used more often than allowed",
    "6": "segment not in the transaction set",
    "7": "segment out of sequence",
    "8": "segment has data element errors",
    "I4": "segment the guide marks “not used” is present",
    "I6": "segment the guide requires here is missing",
    "I7": "loop occurs fewer times than the guide requires",
    "I8": "segment occurs fewer times than the guide requires",
    "I9": "segment the guide marks “not used” in this situation is present",
}

ELEMENT_ERRORS = {  # IK403
    "1": "required element missing",
    "2": "conditionally required element missing",
    "3": "too many elements",
    "4": "value too short",
    "5": "value too long",
    "6": "invalid character",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "element not allowed together with another present",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in this implementation",
    "I9": "element the guide requires in this situation is missing",
    "I10": "element the guide marks “not used” is present",
    "I11": "too few repetitions",
    "I12": "value does not match the pattern the guide requires",
    "I13": "element the guide marks “not used” in this situation is present",
}

ACK_CODES = {  # IK501 and AK901
    "A": "accepted",
    "E": "accepted with errors noted",
    "P": "partially accepted (at least one transaction set rejected)",
    "M": "rejected: message authentication failed",
    "R": "rejected",
    "W": "rejected: failed validity tests",
    "X": "rejected: content could not be analysed after decryption",
}
ACCEPTING = frozenset({"A", "E"})

SET_ERRORS = {  # IK502-IK506
    "1": "transaction set not supported",
    "2": "transaction set trailer missing",
    "3": "control numbers in the ST and SE do not match",
    "4": "the segment count in SE is wrong",
    "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number",
    "18": "transaction set not in a functional group",
    "19": "invalid implementation convention reference",
    "23": "transaction set control number not unique in the group",
    "I5": "one or more segments in error",
    "I6": "implementation convention not supported",
}

GROUP_ERRORS = {  # AK905-AK909
    "1": "functional group not supported",
    "2": "functional group version not supported",
    "3": "functional group trailer missing",
    "4": "control numbers in the GS and GE do not match",
    "5": "the transaction set count in GE is wrong",
    "6": "group control number violates syntax",
    "19": "group control number not unique in the interchange",
    "23": "transaction set control number not unique in the group",
}

STATUS_CATEGORIES = {  # STC01-1 of a 277CA
    "A0": "forwarded to another entity",
    "A1": "received",
    "A2": "accepted into adjudication",
    "A3": "returned as unprocessable",
    "A4": "not found",
    "A5": "split claim",
    "A6": "rejected for missing information",
    "A7": "rejected for invalid information",
    "A8": "rejected for a relational field in error",
}
ACCEPTED_CATEGORIES = frozenset({"A0", "A1", "A2", "A5"})
REJECTED_CATEGORIES = frozenset({"A3", "A4", "A6", "A7", "A8"})

STATUS_CODES = {  # STC01-2: what is wrong or what happened
    "0": "cannot provide further status electronically",
    "3": "claim has been adjudicated and is awaiting payment",
    "15": "a corrected claim is required",
    "16": "claim/encounter has been rejected and has not been entered into the adjudication system",
    "19": "entity acknowledges receipt of the claim",
    "20": "accepted for processing",
    "21": "missing or invalid information",
    "24": "entity not approved as an electronic submitter",
    "28": "the claim is being forwarded",
    "33": "subscriber and subscriber id not found",
    "34": "subscriber and policy number/contract number mismatched",
    "35": "claim submitted to the wrong payer",
    "64": "other payer's explanation of benefits/payment information",
    "78": "duplicate of an existing claim",
    "97": "patient eligibility not found with this entity",
    "106": "entity's name",
    "116": "claim submitted to the incorrect payer",
    "125": "entity's name",
    "145": "entity's primary identifier",
    "153": "entity's id number",
    "164": "entity's contract/member number",
    "187": "date(s) of service",
    "189": "facility type code",
    "247": "line information",
    "254": "principal diagnosis code",
    "255": "diagnosis code",
    "400": "claim is out of balance",
    "454": "procedure code for services rendered",
    "455": "procedure code modifier(s) for services rendered",
    "458": "entity's date of birth",
    "459": "entity's gender",
    "464": "payer assigned claim control number",
    "477": "missing/invalid data prevents payer from processing the claim",
    "481": "claim/submission format is invalid",
    "496": "submitter not approved for electronic claim submissions on behalf of this entity",
    "507": "non-covered charge(s)",
    "510": "future date",
    "511": "invalid character",
    "512": "length invalid for receiver's application system",
    "562": "entity's National Provider Identifier (NPI)",
    "583": "line item control number",
    "673": "patient control number",
    "685": "claim could not complete adjudication in real time; it will continue processing in a batch mode",
    "732": "information submitted inconsistent with billing guidelines",
    "747": "subscriber's relationship to the patient",
    "758": "entity's NPI is not registered with the payer",
}

ENTITIES = {  # STC01-3
    "03": "dependent",
    "1P": "provider",
    "40": "receiver",
    "41": "submitter",
    "45": "drop-off location",
    "71": "attending physician",
    "77": "service location",
    "82": "rendering provider",
    "85": "billing provider",
    "87": "pay-to provider",
    "DN": "referring provider",
    "IL": "subscriber",
    "PR": "payer",
    "QC": "patient",
    "TT": "transfer-to (clearinghouse)",
}


INTERCHANGE_ACK_CODES = {  # TA104
    "A": "received without errors",
    "E": "received, with errors noted",
    "R": "refused: the whole file was not read",
}

INTERCHANGE_NOTES = {  # TA105
    "000": "no error",
    "001": "the control numbers in the ISA header and IEA trailer differ",
    "002": "the control standards identifier is not supported",
    "003": "this version of the interchange controls is not supported",
    "004": "the segment terminator is not valid",
    "005": "the sender id qualifier is not valid",
    "006": "the sender id is not valid",
    "007": "the receiver id qualifier is not valid",
    "008": "the receiver id is not valid",
    "009": "the receiver id is not known to the clearinghouse",
    "010": "the authorization information qualifier is not valid",
    "011": "the authorization information is not valid",
    "012": "the security information qualifier is not valid",
    "013": "the security information is not valid",
    "014": "the interchange date is not valid",
    "015": "the interchange time is not valid",
    "016": "the interchange standards identifier is not valid",
    "017": "the interchange version is not valid",
    "018": "the interchange control number is not valid",
    "019": "the acknowledgment-requested flag is not valid",
    "020": "the test/production indicator is not valid",
    "021": "the number of functional groups in the IEA is wrong",
    "022": "the envelope's structure is not valid",
    "023": "the file ended too early: it may have been cut short",
    "024": "the content of the interchange is not valid (a GS segment, for example)",
    "025": "this interchange control number was used before: the file looks like a duplicate",
    "026": "the element separator is not valid",
    "027": "the component separator is not valid",
    "028": "the delivery date of a deferred delivery request is not valid",
    "029": "the delivery time of a deferred delivery request is not valid",
    "030": "the delivery time code of a deferred delivery request is not valid",
    "031": "the grade of service code is not valid",
}


def interchange_note(code: str) -> str:
    return _with_code(INTERCHANGE_NOTES, code, "TA1 note")


def _with_code(table: dict[str, str], code: str, what: str) -> str:
    text = table.get(code)
    return f"{text} ({what} {code})" if text else f"{what} {code}"


def segment_error(code: str) -> str:
    return _with_code(SEGMENT_ERRORS, code, "segment error") if code else "segment error"


def element_error(code: str) -> str:
    return _with_code(ELEMENT_ERRORS, code, "element error") if code else "element error"


def ack_code(code: str) -> str:
    return ACK_CODES.get(code, f"acknowledgement code {code or 'not given'}")


def set_error(code: str) -> str:
    return _with_code(SET_ERRORS, code, "error")


def group_error(code: str) -> str:
    return _with_code(GROUP_ERRORS, code, "error")


def status_words(category: str, code: str, entity: str = "") -> str:
    """ "Rejected for invalid information: entity's National Provider Identifier (NPI), billing provider (A7:562:85)"."""
    head = STATUS_CATEGORIES.get(category, f"status category {category}")
    text = head[:1].upper() + head[1:]
    if code:
        text += f": {STATUS_CODES.get(code, f'status code {code}')}"
    if entity:
        text += f", {ENTITIES.get(entity, f'entity {entity}')}"
    return text + f" ({':'.join(part for part in (category, code, entity) if part)})"
