"""Structured suggestions from a visit transcript: problems, medications, allergies, vitals, orders.

Each finding keeps the transcript span it came from (turn index, character offsets in that turn's
text) and two flags a clinician needs before anything reaches the chart:

* negated: the mention says the thing is absent ("denies chest pain", "no known allergies"), or the
  doctor asked about it and the patient's next turn said no ("any chest pain?" / "no").
* uncertain: the speaker hedged ("maybe start lisinopril", "could be a sprain") or asked a question
  nobody answered yes or no to.

Problems are ICD-10-CM codes found by the coding engine's phrase table (mederi/ai/coding.py) with its
NegEx-style negation; medications are ingredients of the shipped RxNorm starter catalogue; vitals are
read with their value and unit and coded in LOINC like the vitals form (mederi/clinical/entries/vitals.py);
lab orders are coded with the order form's LOINC tests, imaging and referrals are kept as text.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from decimal import Decimal

from mederi.ai import coding
from mederi.core import systems

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NO_KNOWN_ALLERGY = ("716186003", "No known allergy")  # SNOMED CT situation

UNCERTAIN = re.compile(
    r"\b(maybe|might|perhaps|possibly|possible|probably|could be|may be|may have|consider|considering|"
    r"think about|thinking about|not sure|unsure|suspect|concern for|question of|if it|if you|"
    r"we'll see|wonder|whether|likely)\b")
# Words that answer a question yes or no at the start of the patient's next turn.
ANSWER_NO = re.compile(r"^\W*(no|nope|nah|not really|not that i|never|none|i don't think so|denies)\b")
ANSWER_YES = re.compile(r"^\W*(yes|yeah|yep|yup|uh-huh|mm-hmm|i do|i have|a little|sometimes|definitely)\b")
MED_STOPPED = re.compile(r"\b(stop|stopped|stopping|discontinue|discontinued|no longer|not taking|quit|off of)\b")
ORDER_CUE = re.compile(
    r"\b(order|ordering|get|getting|check|checking|schedule|scheduling|send|sending|obtain|draw|repeat|"
    r"do a|go ahead and|refer|referral)\b")
DOSE_UNITS = {"milligram": "mg", "milligrams": "mg", "microgram": "mcg", "micrograms": "mcg", "unit": "units",
              "gram": "g", "grams": "g"}
RESULT_CUE = re.compile(r"\b(showed|shows|revealed|came back|was normal|were normal|results?|reviewed)\b")


@dataclass(frozen=True)
class Finding:
    kind: str  # "problem" | "medication" | "allergy" | "vital" | "order"
    display: str
    system: str
    code: str
    value: str | None
    turn: int  # index into the transcript's turns
    start: int  # character offsets in that turn's text
    end: int
    negated: bool
    uncertain: bool


@dataclass(frozen=True)
class Sentence:
    turn: int
    speaker: str  # "doctor", "patient" or "other"
    text: str
    start: int  # offsets in the turn's text
    end: int


def said(turns: list[tuple[str, str]], finding: Finding) -> str:
    """The words of the transcript a finding came from."""
    return turns[finding.turn][1][finding.start:finding.end]


def sentences(turns: list[tuple[str, str]]) -> list[Sentence]:
    """The transcript cut into sentences, each knowing its turn and where it sits in it."""
    found = []
    for index, (speaker, text) in enumerate(turns):
        for piece in re.finditer(r"(?:[^.?!]|(?<=\d)\.(?=\d))+[.?!]*", text):  # "98.6" is no full stop
            stripped = piece.group().strip()
            if re.search(r"[a-z0-9]", stripped, re.I):
                start = piece.start() + piece.group().index(stripped)
                found.append(Sentence(index, speaker, stripped, start, start + len(stripped)))
    return found


# ---------------------------------------------------------------------------------------------- numbers

_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_UNIT = "one|two|three|four|five|six|seven|eight|nine"
_BELOW_100 = (rf"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[ -](?:{_UNIT}))?|ten|eleven|twelve|"
              rf"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|zero|{_UNIT})")
_SPOKEN = rf"(?:(?:(?:{_UNIT})[ -])?hundred(?:[ -](?:and[ -])?{_BELOW_100})?|{_BELOW_100})(?: point (?:zero|{_UNIT}))?"
NUMBER = rf"(?:\d+(?:\.\d+)?|{_SPOKEN})"  # never empty: a number in digits or in words


def parse_number(text: str) -> Decimal | None:
    """A number written in digits ("98.6") or spoken ("ninety eight point six", "one hundred ten")."""
    text = text.strip().lower()
    if not text:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return Decimal(text)
    whole, _, fraction = text.partition(" point ")
    total, seen = 0, False
    for word in re.split(r"[ -]+", whole.replace(" and ", " ")):
        if word in _UNITS:
            total += _UNITS[word]
        elif word in _TENS:
            total += _TENS[word]
        elif word == "hundred":
            total = (total or 1) * 100
        else:
            return None
        seen = True
    if not seen:
        return None
    if fraction:
        if fraction not in _UNITS or _UNITS[fraction] > 9:
            return None
        return Decimal(f"{total}.{_UNITS[fraction]}")
    return Decimal(total)


# ----------------------------------------------------------------------------------------------- vitals

@dataclass(frozen=True)
class Reading:
    code: str  # LOINC
    name: str
    value: str  # as the chart shows it: "128/78 mmHg", "98.6 [degF]"
    start: int
    end: int


_GAP = r"[^.?!\d]{0,30}?"  # words between the vital's name and its number, within the sentence
VITAL_PATTERNS = [
    ("85354-9", "Blood pressure", re.compile(
        rf"\b(?:blood pressure|bp)\b{_GAP}\b(?P<a>{NUMBER})\s*(?:/|over)\s*(?P<b>{NUMBER})\b")),
    ("8867-4", "Heart rate", re.compile(rf"\b(?:heart rate|pulse|heart rate is)\b{_GAP}\b(?P<a>{NUMBER})\b")),
    ("9279-1", "Respiratory rate", re.compile(
        rf"\b(?:respiratory rate|respirations|breathing rate)\b{_GAP}\b(?P<a>{NUMBER})\b")),
    ("8310-5", "Body temperature", re.compile(
        rf"\b(?:temperature|temp|fever of)\b{_GAP}\b(?P<a>{NUMBER})\b\s*(?P<u>degrees? (?:fahrenheit|celsius)|"
        r"fahrenheit|celsius|degrees?|f\b|c\b)?")),
    ("59408-5", "Oxygen saturation (SpO2)", re.compile(
        rf"\b(?:oxygen saturation|oxygen sat|o2 sat|spo2|sats?|saturation|saturating|pulse ox|pulse oximetry|"
        rf"oxygen level)\b{_GAP}\b(?P<a>{NUMBER})\b\s*(?P<u>%|percent)?")),
    ("29463-7", "Body weight", re.compile(
        rf"\b(?:weight|weighs|weigh|weighed|weighing)\b{_GAP}\b(?P<a>{NUMBER})\b\s*"
        r"(?P<u>pounds|pound|lbs|lb|kilograms|kilos|kg)?")),
]
_UCUM = {"85354-9": "mmHg", "8867-4": "/min", "9279-1": "/min", "59408-5": "%"}
# What a living patient can show: readings outside are words misread as a number ("pulse is fine, two ...").
_PLAUSIBLE = {"85354-9": (20, 300), "8867-4": (20, 300), "9279-1": (4, 80), "59408-5": (50, 100)}


def parse_vital(code: str, number: Decimal, unit_words: str | None) -> str | None:
    """The reading as the chart shows it with its UCUM unit, or None when it can't be a real reading.

    Temperature: over 50 is Fahrenheit unless Celsius was said. Weight: pounds unless kilograms were said.
    """
    unit = (unit_words or "").strip().lower()
    if code == "8310-5":
        celsius = unit.startswith("c") or "celsius" in unit or (not unit and number <= 50)
        if celsius and not 25 <= number <= 45 or not celsius and not 77 <= number <= 113:
            return None
        return f"{number} {'Cel' if celsius else '[degF]'}"
    if code == "29463-7":
        kilograms = unit.startswith("k")
        if kilograms and not Decimal("0.3") <= number <= 650 or not kilograms and not 1 <= number <= 1433:
            return None
        return f"{number} {'kg' if kilograms else '[lb_av]'}"
    low, high = _PLAUSIBLE[code]
    if not low <= number <= high:
        return None
    return f"{number} {_UCUM[code]}"


def read_vitals(text: str) -> list[Reading]:
    """Vital signs said in a piece of text, with their LOINC code, value and unit."""
    found = []
    lowered = text.lower()
    for code, name, pattern in VITAL_PATTERNS:
        for match in pattern.finditer(lowered):
            first = parse_number(match.group("a"))
            if first is None:
                continue
            if code == "85354-9":
                second = parse_number(match.group("b"))
                if second is None or not (40 <= first <= 300 and 20 <= second <= 200 and second < first):
                    continue
                value = f"{first}/{second} mmHg"
            else:
                value = parse_vital(code, first, match.groupdict().get("u"))
                if value is None:
                    continue
            found.append(Reading(code, name, value, match.start(), match.end()))
    return found


# ------------------------------------------------------------------------------------------ dictionaries

# Brand names patients and doctors say aloud → the ingredient the catalogue knows.
BRANDS = {
    "lasix": "furosemide", "tylenol": "acetaminophen", "advil": "ibuprofen", "motrin": "ibuprofen",
    "aleve": "naproxen", "lipitor": "atorvastatin", "zocor": "simvastatin", "crestor": "rosuvastatin",
    "norvasc": "amlodipine", "glucophage": "metformin", "synthroid": "levothyroxine", "coumadin": "warfarin",
    "eliquis": "apixaban", "xarelto": "rivaroxaban", "plavix": "clopidogrel", "zoloft": "sertraline",
    "prozac": "fluoxetine", "lexapro": "escitalopram", "wellbutrin": "bupropion", "flonase": "fluticasone",
    "claritin": "loratadine", "zyrtec": "cetirizine", "prilosec": "omeprazole", "nexium": "esomeprazole",
    "protonix": "pantoprazole", "toprol": "metoprolol", "lopressor": "metoprolol", "ozempic": "semaglutide",
    "jardiance": "empagliflozin", "farxiga": "dapagliflozin", "flexeril": "cyclobenzaprine",
    "neurontin": "gabapentin", "ultram": "tramadol", "keflex": "cephalexin", "zithromax": "azithromycin",
    "z-pack": "azithromycin", "z pack": "azithromycin", "medrol": "methylprednisolone", "singulair": "montelukast",
    "mobic": "meloxicam", "cozaar": "losartan", "cymbalta": "duloxetine", "desyrel": "trazodone",
    "flomax": "tamsulosin", "proscar": "finasteride", "viagra": "sildenafil", "imitrex": "sumatriptan",
    "ventolin": "albuterol", "proair": "albuterol", "zestril": "lisinopril", "prinivil": "lisinopril",
}


@functools.lru_cache(maxsize=1)
def ingredient_table() -> dict[tuple[str, ...], tuple[str, str]]:
    """Normalised ingredient or brand name → (RxCUI, ingredient), from the starter catalogue shipped with
    the code and the brand list above."""
    from mederi.clinical.drugs.catalogue import KNOWLEDGE

    table = {}
    with open(KNOWLEDGE / "ingredients.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            table[coding.words(row["name"])] = (row["rxcui"], row["name"])
    by_name = {name: entry for (name, *rest), entry in table.items() if not rest}
    for brand, ingredient in BRANDS.items():
        if ingredient in by_name:
            table[coding.words(brand)] = by_name[ingredient]
    return table


@functools.lru_cache(maxsize=1)
def allergen_table() -> dict[tuple[str, ...], tuple[str, str, str]]:
    """Normalised allergen word → (system, code, display): drug classes and substances the CDS knows."""
    from mederi.clinical.drugs.catalogue import KNOWLEDGE

    codes: dict[str, tuple[str, str]] = {}
    texts: dict[str, list[str]] = {}
    with open(KNOWLEDGE / "allergens.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["kind"] == "text":
                texts.setdefault(row["allergen"], []).append(row["value"])
            elif row["allergen"] not in codes or row["kind"] == "rxnorm":
                system = RXNORM if row["kind"] == "rxnorm" else systems.SNOMED
                codes[row["allergen"]] = (system, row["value"])
    table = {}
    for allergen, (system, code) in codes.items():
        for name in [allergen, *texts.get(allergen, [])]:
            table[coding.words(name)] = (system, code, allergen)
    for phrase, (rxcui, name) in ingredient_table().items():
        table.setdefault(phrase, (RXNORM, rxcui, name))
    return table


# Imaging and procedures people order aloud; coded LOINC labs come from the order form's list.
IMAGING = ("x-ray", "xray", "x ray", "mri", "ct scan", "cat scan", "ct", "ultrasound", "echocardiogram", "echo",
           "ekg", "ecg", "electrocardiogram", "mammogram", "colonoscopy", "endoscopy", "stress test",
           "bone density scan", "dexa scan", "nerve conduction study", "emg", "holter monitor", "biopsy",
           "pulmonary function test", "sleep study")
LAB_WORDS = {
    "58410-2": ("cbc", "complete blood count", "blood count"),
    "24323-8": ("cmp", "comprehensive metabolic panel", "metabolic panel"),
    "24321-2": ("bmp", "basic metabolic panel"),
    "24331-1": ("lipid panel", "lipids", "cholesterol panel", "cholesterol level"),
    "4548-4": ("a1c", "hemoglobin a1c", "hba1c"),
    "3016-3": ("tsh", "thyroid stimulating hormone", "thyroid panel", "thyroid function"),
    "24356-8": ("urinalysis", "urine test", "ua"),
    "34714-6": ("inr", "pt inr", "pt/inr"),
    "62292-8": ("vitamin d level", "vitamin d"),
    "2276-4": ("ferritin", "iron studies"),
    "2132-9": ("b12", "vitamin b12"),
    "1558-6": ("fasting glucose", "blood sugar"),
    "2857-1": ("psa",),
}


def _lab_name(code: str) -> str:
    from mederi.interop.orders import LAB_TESTS

    return LAB_TESTS.get(code, code)


# ------------------------------------------------------------------------------------------- the finder

def _answered_no(turns: list[tuple[str, str]], sentence: Sentence) -> bool:
    """A doctor's question ("any chest pain?") the patient's next turn answers with no."""
    if sentence.speaker != "doctor" or not sentence.text.endswith("?"):
        return False
    for speaker, text in turns[sentence.turn + 1:sentence.turn + 2]:
        if speaker == "patient":
            return bool(ANSWER_NO.search(text.lower()))
    return False


def _unanswered_question(turns: list[tuple[str, str]], sentence: Sentence) -> bool:
    if not sentence.text.endswith("?"):
        return False
    following = turns[sentence.turn + 1][1].lower() if sentence.turn + 1 < len(turns) else ""
    return not (ANSWER_YES.search(following) or ANSWER_NO.search(following))


def _scan(table, sentence: Sentence, max_words: int):
    """(first token, last token, entry) for the longest table phrase at each word of the sentence."""
    all_tokens = coding.tokens(sentence.text)
    index = 0
    while index < len(all_tokens):
        for length in range(min(max_words, len(all_tokens) - index), 0, -1):
            entry = table.get(tuple(t.word for t in all_tokens[index:index + length]))
            if entry is not None:
                yield all_tokens, index, index + length - 1, entry
                index += length - 1
                break
        index += 1


def find(turns: list[tuple[str, str]], units: list[Sentence] | None = None) -> list[Finding]:
    """Every finding in the transcript, in the order spoken; the same thing said again is kept once
    (its first affirmed mention wins over a negated one, so the chart sees what is there)."""
    units = units if units is not None else sentences(turns)
    findings: list[Finding] = []
    for unit in units:
        lowered = unit.text.lower()
        hedged = bool(UNCERTAIN.search(lowered)) or _unanswered_question(turns, unit)
        asked_no = _answered_no(turns, unit)

        def add(kind, display, system, code, value, start, end, negated, uncertain=hedged):
            findings.append(Finding(kind, display, system, code, value, unit.turn, unit.start + start,
                                    unit.start + end, negated or asked_no, uncertain and not negated))

        for all_tokens, first, last, (code, _source) in _scan(coding.phrase_table(), unit, coding.MAX_PHRASE):
            if all_tokens[first].word.startswith("allerg"):
                continue  # "allergies" are the allergy findings below, not a diagnosis
            add("problem", coding.icd10.description(code), ICD10CM, code, None, all_tokens[first].start,
                all_tokens[last].end, coding.negated(all_tokens, first, last))
        for all_tokens, first, last, (rxcui, name) in _scan(ingredient_table(), unit, 4):
            tail = lowered[all_tokens[last].end:all_tokens[last].end + 40]
            dose = re.match(rf"[\s,]*(?:(?:um|uh)\b[\s,]*)?(?:(?:to|at|of|from|is|\w+ \w+ to)\s+)?({NUMBER})\s*"
                            r"(mg|milligrams?|mcg|micrograms?|units?|grams?|ml)\b", tail)
            amount = parse_number(dose.group(1)) if dose else None
            value = f"{amount} {DOSE_UNITS.get(dose.group(2), dose.group(2))}" if amount else None
            if _allergy_context(lowered, all_tokens[first].start):
                continue  # "allergic to penicillin" is an allergy, found below
            add("medication", name, RXNORM, rxcui, value, all_tokens[first].start, all_tokens[last].end,
                bool(MED_STOPPED.search(lowered)))
        _allergies(unit, lowered, add)
        for reading in read_vitals(unit.text):
            add("vital", reading.name, systems.LOINC, reading.code, reading.value, reading.start, reading.end,
                False, False)
        _orders(unit, lowered, add)
    return _first_of_each(findings)


def _allergy_context(lowered: str, at: int) -> bool:
    return bool(re.search(r"allerg\w*( to)?\s*(\w+\s*){0,2}$", lowered[:at]))


def _allergies(unit: Sentence, lowered: str, add) -> None:
    none = re.search(r"\b(no known (drug )?allergies|no (drug )?allergies|not allergic to anything|"
                     r"nkda|no allergies to medications?)\b", lowered)
    if none:
        add("allergy", NO_KNOWN_ALLERGY[1], systems.SNOMED, NO_KNOWN_ALLERGY[0], None, none.start(), none.end(),
            False, False)
        return
    for match in re.finditer(r"\ballerg(?:ic|y|ies)\b(?: to)?", lowered):
        window = lowered[match.end():match.end() + 60]
        negated = bool(re.search(r"\b(not|no|never|denies)\b[^.]{0,15}$", lowered[:match.start()]))
        for all_tokens, first, last, (system, code, display) in _scan(allergen_table(), Sentence(
                unit.turn, unit.speaker, window, 0, len(window)), 4):
            start = match.end() + all_tokens[first].start
            add("allergy", display, system, code, None, start, match.end() + all_tokens[last].end, negated)
            break
    for match in re.finditer(r"\b(\w+) allerg(?:y|ies)\b", lowered):
        entry = allergen_table().get(coding.words(match.group(1)))
        if entry and not re.search(r"\bno\s*$", lowered[:match.start()]):
            add("allergy", entry[2], entry[0], entry[1], None, match.start(1), match.end(1), False)


def _orders(unit: Sentence, lowered: str, add) -> None:
    if not ORDER_CUE.search(lowered) or RESULT_CUE.search(lowered):
        return
    for code, names in LAB_WORDS.items():
        for name in names:
            match = re.search(rf"\b{re.escape(name)}\b", lowered)
            if match:
                add("order", _lab_name(code), systems.LOINC, code, None, match.start(), match.end(), False)
                break
    for name in IMAGING:
        match = re.search(rf"\b{re.escape(name)}\b", lowered)
        if match:
            where = re.match(r"\s+(?:of|on) (?:the |your |her |his )?((?:left |right |bilateral )?\w+)",
                             lowered[match.end():])
            display = name.upper() if len(name) <= 3 else name
            display += f" of the {where.group(1)}" if where else ""
            add("order", display[0].upper() + display[1:], "", "", None, match.start(), match.end(), False)
            break  # "an x-ray ... the ct" in one breath is usually the same order restated


def _first_of_each(findings: list[Finding]) -> list[Finding]:
    kept: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        key = (finding.kind, finding.code or finding.display, finding.value or "" if finding.kind == "vital" else "")
        earlier = kept.get(key)
        if earlier is None or (earlier.negated and not finding.negated) or (
                earlier.uncertain and not finding.uncertain and not finding.negated):
            kept[key] = finding
    return sorted(kept.values(), key=lambda f: (f.turn, f.start))
