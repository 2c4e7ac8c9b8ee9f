"""Procedure codes for what a note documents as done in the office, from a mapping table.

Each row maps the ways a note says a procedure was done ("EKG", "rapid strep test", "injected the
knee") to its CPT or HCPCS code, with the codes that go with it (a vaccine's administration, an
injected drug's supply code). A mention counts only when it was done at this visit: one that is
negated or refused ("declined the flu shot", "no EKG today") or planned ("will get spirometry next
visit", "consider a knee injection") gives no code. A test's result does not undo it ("rapid strep
test was negative" was still a test done). The codes and the biller's descriptions come from the
billing code set (`billing.claims.codes`); the phrases are the project's own.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from mederi.ai import coding
from mederi.billing.claims import codes

MAX_PHRASE = 5
WINDOW = 6  # words before a mention that may negate it or make it a plan
NOT_DONE = ("no", "not", "without", "declined", "declines", "refused", "refuses", "deferred", "defer",
            "did not", "didn t", "hold off on", "held off on")
PLANNED = ("will", "plan", "plans", "planning", "plan to", "schedule", "scheduled", "next visit", "next time",
           "consider", "considering", "recommend", "recommended", "refer", "referred", "return for", "due for",
           "would like to", "should get", "if")

# code: (phrases, codes that go with it)
TABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "93000": (("ekg", "ecg", "electrocardiogram", "12 lead"), ()),
    "94010": (("spirometry", "pulmonary function test"), ()),
    "94640": (("nebulizer treatment", "neb treatment", "breathing treatment", "albuterol nebulizer"), ("J7613",)),
    "94760": (("pulse oximetry", "pulse ox"), ()),
    "20610": (("knee injection", "joint injection", "shoulder injection", "bursa injection", "injected the knee",
               "injected the shoulder", "aspirated the knee", "knee aspiration"), ()),
    "10060": (("incision and drainage", "drained the abscess", "i and d of the abscess"), ()),
    "11102": (("shave biopsy", "skin biopsy", "punch biopsy"), ()),
    "11200": (("skin tag removal", "removed the skin tag", "removed skin tag"), ()),
    "12001": (("laceration repair", "repaired the laceration", "sutured the laceration", "placed sutures"), ()),
    "17110": (("wart destruction", "froze the wart", "cryotherapy of the wart", "liquid nitrogen to the wart"), ()),
    "17000": (("froze the actinic keratosis", "cryotherapy of the actinic keratosis"), ()),
    "36415": (("venipuncture", "blood draw", "drew blood"), ()),
    "69210": (("ear wax removal", "cerumen removal", "removed the cerumen", "removed the ear wax", "ear lavage"), ()),
    "81002": (("urine dipstick", "dipstick urinalysis", "urinalysis by dipstick"), ()),
    "81025": (("urine pregnancy test", "pregnancy test"), ()),
    "82962": (("fingerstick glucose", "finger stick glucose", "glucometer reading"), ()),
    "83036": (("point of care a1c", "in office a1c"), ()),
    "86580": (("ppd placed", "tb skin test", "tuberculin skin test", "ppd test"), ()),
    "87804": (("rapid flu test", "rapid influenza test", "flu swab"), ()),
    "87880": (("rapid strep test", "rapid strep", "strep test"), ()),
    "90686": (("flu shot", "flu vaccine", "influenza vaccine"), ("90471",)),
    "90715": (("tdap", "tetanus booster"), ("90471",)),
    "92551": (("hearing screening", "audiometry screening"), ()),
    "96127": (("phq 9", "gad 7"), ()),
    "96372": (("b12 injection", "b12 shot", "toradol injection", "ketorolac injection", "rocephin injection",
               "ceftriaxone injection"), ()),
    "Q0091": (("pap smear", "pap test"), ()),
    "99406": (("smoking cessation counseling", "tobacco cessation counseling", "counseled on smoking cessation",
               "counseled her on quitting smoking", "counseled him on quitting smoking"), ()),
}
FIRST_VACCINE, NEXT_VACCINE = "90471", "90472"
# The drug supplied with an injection, by what the note calls it.
DRUGS = {"b12": "J3420", "toradol": "J1885", "ketorolac": "J1885", "rocephin": "J0696", "ceftriaxone": "J0696"}


@dataclass(frozen=True)
class Procedure:
    code: str
    display: str
    start: int
    end: int
    because_of: str = ""  # the code this one goes with ("" for a code found by its own words)


@functools.cache
def _phrases() -> dict[tuple[str, ...], str]:
    return {coding.words(phrase): code for code, (phrases, _) in TABLE.items() for phrase in phrases}


def describe(code: str) -> str:
    return codes.CPT_SHORT.get(code) or codes.HCPCS_LEVEL_II.get(code) or code


def _not_done(before: list[str]) -> bool:
    return coding.has_trigger(before, NOT_DONE) or coding.has_trigger(before, PLANNED)


def documented_procedures(text: str) -> list[Procedure]:
    """The procedures `text` documents as done, first mention first, with the codes that go with them."""
    table = _phrases()
    tokens = coding.tokens(text)
    found: dict[str, Procedure] = {}
    index = 0
    while index < len(tokens):
        for length in range(min(MAX_PHRASE, len(tokens) - index), 0, -1):
            span = tokens[index:index + length]
            code = table.get(tuple(t.word for t in span)) if span[-1].sentence == span[0].sentence else None
            if code is None:
                continue
            before = [t.word for t in tokens[max(0, index - WINDOW):index] if t.sentence == span[0].sentence]
            if code not in found and not _not_done(before):
                found[code] = Procedure(code, describe(code), span[0].start, span[-1].end)
                words = {t.word for t in span}
                extra = [*TABLE[code][1], *(drug for name, drug in DRUGS.items() if name in words)]
                for companion in extra:
                    if companion == FIRST_VACCINE and FIRST_VACCINE in found:
                        companion = NEXT_VACCINE  # each vaccine after the first has its own administration code
                    found.setdefault(companion, Procedure(companion, describe(companion), span[0].start,
                                                          span[-1].end, because_of=code))
            index += length - 1
            break
        index += 1
    return list(found.values())
