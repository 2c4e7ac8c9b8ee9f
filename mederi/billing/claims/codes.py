"""The procedure codes, modifiers and places of service a practice bills with, as shipped data.

CPT descriptions belong to the AMA: the codes below carry the project's own short wording, and a
practice with a CPT licence loads the official descriptions with `mederi cpt-import FILE`
(stored in `ProcedureDescription`, preferred over these when present). HCPCS Level II codes,
modifiers and place-of-service codes are public (CMS).
"""

from __future__ import annotations

import re

CPT_SHORT = {
    # Office visits, new patient (by medical decision making or time)
    "99202": "Office visit, new patient, straightforward",
    "99203": "Office visit, new patient, low complexity",
    "99204": "Office visit, new patient, moderate complexity",
    "99205": "Office visit, new patient, high complexity",
    # Office visits, established patient
    "99211": "Office visit, established patient, minimal (staff)",
    "99212": "Office visit, established patient, straightforward",
    "99213": "Office visit, established patient, low complexity",
    "99214": "Office visit, established patient, moderate complexity",
    "99215": "Office visit, established patient, high complexity",
    # Preventive visits
    "99381": "Preventive visit, new patient, under 1 year",
    "99382": "Preventive visit, new patient, 1 to 4 years",
    "99383": "Preventive visit, new patient, 5 to 11 years",
    "99384": "Preventive visit, new patient, 12 to 17 years",
    "99385": "Preventive visit, new patient, 18 to 39 years",
    "99386": "Preventive visit, new patient, 40 to 64 years",
    "99387": "Preventive visit, new patient, 65 years and over",
    "99391": "Preventive visit, established patient, under 1 year",
    "99392": "Preventive visit, established patient, 1 to 4 years",
    "99393": "Preventive visit, established patient, 5 to 11 years",
    "99394": "Preventive visit, established patient, 12 to 17 years",
    "99395": "Preventive visit, established patient, 18 to 39 years",
    "99396": "Preventive visit, established patient, 40 to 64 years",
    "99397": "Preventive visit, established patient, 65 years and over",
    "99401": "Preventive counselling, about 15 minutes",
    "99406": "Tobacco cessation counselling, 3 to 10 minutes",
    "99417": "Prolonged office visit, each extra 15 minutes",
    "99441": "Telephone visit by a physician, 5 to 10 minutes",
    "99495": "Transitional care after discharge, moderate complexity",
    # Office procedures and tests
    "10060": "Drainage of skin abscess, simple",
    "11102": "Skin biopsy by tangential technique, first lesion",
    "11200": "Removal of skin tags, up to 15",
    "12001": "Simple repair of a superficial wound, up to 2.5 cm",
    "17000": "Destruction of a premalignant lesion, first",
    "17110": "Destruction of benign lesions such as warts, up to 14",
    "20610": "Injection or drainage of a major joint or bursa",
    "36415": "Collection of venous blood by venipuncture",
    "69210": "Removal of impacted ear wax, one ear",
    "81002": "Urinalysis by dipstick, without microscopy",
    "81025": "Urine pregnancy test",
    "82947": "Blood glucose, quantitative",
    "82962": "Blood glucose by a home-use monitoring device",
    "83036": "Hemoglobin A1c",
    "85018": "Hemoglobin",
    "86580": "Tuberculosis skin test",
    "87804": "Influenza rapid antigen test",
    "87880": "Strep A rapid antigen test",
    "90471": "Immunization administration, first vaccine",
    "90472": "Immunization administration, each extra vaccine",
    "90686": "Influenza vaccine, quadrivalent, preservative free, intramuscular",
    "90715": "Tdap vaccine, 7 years and over, intramuscular",
    "92551": "Hearing screening, pure tone, air only",
    "93000": "Electrocardiogram with interpretation and report",
    "94010": "Spirometry",
    "94640": "Nebulizer treatment for airway obstruction",
    "94760": "Pulse oximetry, single reading",
    "96127": "Brief emotional or behavioural assessment",
    "96372": "Therapeutic injection, subcutaneous or intramuscular",
    "99000": "Handling of a specimen sent to a laboratory",
}

HCPCS_LEVEL_II = {
    "A4550": "Surgical trays",
    "A4565": "Slings",
    "E0114": "Crutches, underarm, other than wood, pair",
    "G0008": "Administration of influenza virus vaccine",
    "G0009": "Administration of pneumococcal vaccine",
    "G0101": "Cervical or vaginal cancer screening; pelvic and clinical breast examination",
    "G0438": "Annual wellness visit, initial",
    "G0439": "Annual wellness visit, subsequent",
    "G0442": "Annual alcohol misuse screening, 5 to 15 minutes",
    "G0444": "Annual depression screening, 5 to 15 minutes",
    "G2211": "Visit complexity inherent to ongoing care of a serious or complex condition",
    "J0696": "Injection, ceftriaxone sodium, per 250 mg",
    "J1030": "Injection, methylprednisolone acetate, 40 mg",
    "J1100": "Injection, dexamethasone sodium phosphate, 1 mg",
    "J1885": "Injection, ketorolac tromethamine, per 15 mg",
    "J2550": "Injection, promethazine HCl, up to 50 mg",
    "J3301": "Injection, triamcinolone acetonide, not otherwise specified, 10 mg",
    "J3420": "Injection, vitamin B-12 cyanocobalamin, up to 1,000 mcg",
    "J7613": "Albuterol, inhalation solution, unit dose, 1 mg",
    "Q0091": "Screening Papanicolaou smear; obtaining, preparing and conveyance to laboratory",
}

MODIFIERS = {
    "22": "Increased procedural services",
    "24": "Unrelated E/M service by the same physician during a postoperative period",
    "25": "Significant, separately identifiable E/M service on the same day of a procedure",
    "26": "Professional component",
    "50": "Bilateral procedure",
    "51": "Multiple procedures",
    "52": "Reduced services",
    "57": "Decision for surgery",
    "59": "Distinct procedural service",
    "76": "Repeat procedure by the same physician",
    "77": "Repeat procedure by another physician",
    "79": "Unrelated procedure by the same physician during the postoperative period",
    "91": "Repeat clinical diagnostic laboratory test",
    "95": "Synchronous telemedicine service by real-time audio and video",
    "FS": "Split or shared E/M visit",
    "GA": "Waiver of liability statement issued as required by payer policy",
    "GT": "Via interactive audio and video telecommunication systems",
    "GY": "Item or service statutorily excluded",
    "GZ": "Item or service expected to be denied as not reasonable and necessary",
    "KX": "Requirements specified in the medical policy have been met",
    "LT": "Left side",
    "RT": "Right side",
    "QW": "CLIA-waived test",
    "TC": "Technical component",
    "XE": "Separate encounter",
    "XP": "Separate practitioner",
    "XS": "Separate structure",
    "XU": "Unusual non-overlapping service",
}

PLACES_OF_SERVICE = {
    "02": "Telehealth provided other than in the patient's home",
    "10": "Telehealth provided in the patient's home",
    "11": "Office",
    "12": "Home",
    "19": "Off-campus outpatient hospital",
    "20": "Urgent care facility",
    "21": "Inpatient hospital",
    "22": "On-campus outpatient hospital",
    "23": "Emergency room, hospital",
    "31": "Skilled nursing facility",
    "32": "Nursing facility",
    "81": "Independent laboratory",
}

_CPT_FORM = re.compile(r"[0-9]{4}[0-9FTU]")  # Category I (5 digits), II (####F) and III (####T)
_HCPCS_FORM = re.compile(r"[A-V][0-9]{4}")


class CodeError(ValueError):
    """A procedure code or modifier that cannot be billed; the message says what to use instead."""


def code_kind(code: str) -> str:
    """"cpt" or "hcpcs" by the code's form; raises CodeError for anything else."""
    if _CPT_FORM.fullmatch(code):
        return "cpt"
    if _HCPCS_FORM.fullmatch(code):
        return "hcpcs"
    raise CodeError(f"“{code}” is not a procedure code: CPT codes are five digits (99213), "
                    "HCPCS Level II codes a letter and four digits (J1030).")


def code_kind_or_none(code: str) -> str | None:
    try:
        return code_kind(code)
    except CodeError:
        return None


def normalize_procedure(code: str) -> str:
    return (code or "").strip().upper()


def normalize_modifiers(modifiers) -> list[str]:
    """Up to four known modifiers, from a list or a text like "25, LT"; raises CodeError otherwise."""
    if isinstance(modifiers, str):
        modifiers = re.split(r"[\s,:;]+", modifiers)
    cleaned = [m.strip().upper() for m in modifiers or () if m and m.strip()]
    if len(cleaned) > 4:
        raise CodeError(f"A line takes at most 4 modifiers; {len(cleaned)} were given ({', '.join(cleaned)}).")
    unknown = [m for m in cleaned if m not in MODIFIERS]
    if unknown:
        raise CodeError(f"Unknown modifier {', '.join(unknown)}: use one of {', '.join(sorted(MODIFIERS))}.")
    if len(set(cleaned)) != len(cleaned):
        raise CodeError(f"A modifier is repeated on the line ({', '.join(cleaned)}).")
    return cleaned


def shipped_description(code: str) -> str:
    return CPT_SHORT.get(code) or HCPCS_LEVEL_II.get(code) or ""
