"""An office visit's E/M level from the 2021 guidelines: by total time when the note documents it, else by
medical decision making (MDM), the level met by two of its three elements (problems, data, risk).

The elements are read from the note with a small rule set of our own; the reasoning says in words what
was found, so the person accepting the level can check it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LEVELS = ("straightforward", "low", "moderate", "high")
NEW = {"straightforward": "99202", "low": "99203", "moderate": "99204", "high": "99205"}
ESTABLISHED = {"straightforward": "99212", "low": "99213", "moderate": "99214", "high": "99215"}
# Total time on the date of the encounter (2021 ranges): the least minutes for each code.
NEW_MINUTES = (("99205", 60), ("99204", 45), ("99203", 30), ("99202", 15))
ESTABLISHED_MINUTES = (("99215", 40), ("99214", 30), ("99213", 20), ("99212", 10))
DISPLAY = {"99202": "New patient office visit, straightforward MDM or 15+ minutes",
           "99203": "New patient office visit, low MDM or 30+ minutes",
           "99204": "New patient office visit, moderate MDM or 45+ minutes",
           "99205": "New patient office visit, high MDM or 60+ minutes",
           "99211": "Established patient office visit, may not need a physician",
           "99212": "Established patient office visit, straightforward MDM or 10+ minutes",
           "99213": "Established patient office visit, low MDM or 20+ minutes",
           "99214": "Established patient office visit, moderate MDM or 30+ minutes",
           "99215": "Established patient office visit, high MDM or 40+ minutes"}

TIME = re.compile(r"\b(?:spent|total time(?: of)?|total of)\D{0,20}?(\d{1,3})\s*(?:minutes|mins?)\b", re.I)
HIGH_PROBLEM = re.compile(r"severe exacerbation|threat to life|life.threatening|acute (?:mi|myocardial)|"
                          r"sepsis|suicidal", re.I)
WORSE = re.compile(r"exacerbation|worsening|progressing|progression|not controlled|uncontrolled|poorly controlled|"
                   r"side effects?", re.I)
CHRONIC = re.compile(r"\bchronic\b|\bstable\b|well controlled|controlled on", re.I)
TESTS = re.compile(r"\b(?:cbc|bmp|cmp|a1c|hba1c|lipid panel|tsh|urinalysis|ecg|ekg|x-?ray|ct scan|mri|"
                   r"ultrasound|echocardiogram|culture|troponin|psa|inr)\b", re.I)
INDEPENDENT = re.compile(r"independent historian|independently interpreted|discussed (?:with|the case with)", re.I)
HIGH_RISK = re.compile(r"\b(?:admit|admission to|hospitali[sz]\w*|emergency surgery|decision for surgery|"
                       r"do not resuscitate|escalation of care)\b", re.I)
RX = re.compile(r"\b(?:prescribed?|start(?:ed)?|increase[ds]?|decrease[ds]?|refill(?:ed)?|continue|titrate)\b"
                r"[^.]{0,40}?\b(?:\d+\s*(?:mg|mcg|units?)|tablets?|daily|twice)", re.I)
LOW_RISK = re.compile(r"over.the.counter|\botc\b|ibuprofen|acetaminophen|paracetamol|fluids|rest\b", re.I)
NURSE_VISIT = re.compile(r"nurse visit|blood pressure check only|injection only", re.I)


@dataclass(frozen=True)
class VisitLevel:
    code: str
    display: str
    reasoning: str


def _problems(text: str, problems: int) -> tuple[int, str]:
    if HIGH_PROBLEM.search(text):
        return 3, "an acute or chronic illness that poses a threat to life or bodily function (high)"
    if WORSE.search(text):
        return 2, "a chronic illness with exacerbation, progression or side effects of treatment (moderate)"
    if problems >= 2 and CHRONIC.search(text):
        return 2, f"{problems} problems addressed, including stable chronic illness (moderate)"
    if problems >= 2 or CHRONIC.search(text):
        return 1, f"{problems} problems addressed, or one stable chronic illness (low)"
    if problems == 1:
        return 1, "one acute, uncomplicated problem (low)"
    return 0, "no problem clearly named (minimal)"


def _data(text: str) -> tuple[int, str]:
    tests = sorted({m.group().lower() for m in TESTS.finditer(text)})
    independent = bool(INDEPENDENT.search(text))
    if len(tests) >= 3 and independent:
        return 3, f"tests {', '.join(tests)} with independent interpretation or discussion (extensive)"
    if len(tests) >= 3 or independent:
        what = f"tests {', '.join(tests)}" if tests else "no tests"
        return 2, f"{what}{' and an independent historian, interpretation or discussion' if independent else ''}" \
                  " (moderate)"
    if len(tests) == 2:
        return 1, f"tests {', '.join(tests)} (limited)"
    return 0, f"{'test ' + tests[0] if tests else 'no tests'} reviewed or ordered (minimal)"


def _risk(text: str) -> tuple[int, str]:
    if HIGH_RISK.search(text):
        return 3, "a decision about hospital admission or escalation of care (high)"
    if RX.search(text):
        return 2, "prescription drug management (moderate)"
    if LOW_RISK.search(text):
        return 1, "over-the-counter drugs or simple measures (low)"
    return 0, "no treatment with risk named (minimal)"


def office_visit_level(text: str, *, new_patient: bool, problems: int) -> VisitLevel:
    """The E/M code of an office visit; `problems` is how many diagnoses were found in the note."""
    kind = "new" if new_patient else "established"
    minutes = TIME.search(text)
    if minutes:
        spent = int(minutes.group(1))
        for code, least in (NEW_MINUTES if new_patient else ESTABLISHED_MINUTES):
            if spent >= least:
                return VisitLevel(code, DISPLAY[code], f"Total time documented: {spent} minutes, at least {least} "
                                                       f"for {code} ({kind} patient, 2021 time ranges).")
        # too short for time to count: fall back to decision making
    if not new_patient and NURSE_VISIT.search(text):
        return VisitLevel("99211", DISPLAY["99211"], "A nurse visit for an established patient.")
    elements = [("Problems", *_problems(text, problems)), ("Data", *_data(text)), ("Risk", *_risk(text))]
    # MDM is the level that two of the three elements meet or exceed: the middle one.
    level = sorted(score for _, score, _ in elements)[1]
    code = (NEW if new_patient else ESTABLISHED)[LEVELS[level]]
    said = "; ".join(f"{name}: {why}" for name, _, why in elements)
    lead = f"No total time documented (or under the least for a code), so by MDM: {said}. "
    return VisitLevel(code, DISPLAY[code], f"{lead}Two of three elements reach {LEVELS[level]} MDM, "
                                           f"which is {code} for a {kind} patient.")
