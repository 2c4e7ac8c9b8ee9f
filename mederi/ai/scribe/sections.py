"""Putting transcript sentences into the note's sections, in the note's voice.

The visit is read in phases, as clinicians run it: history first, then the exam (opened by words like
"let's take a look" or "on exam"), then results and the assessment and plan (opened by "my impression",
"so for your ...", "the plan is"). What the patient says during the history becomes the history of
present illness in the third person ("I've had pain for two weeks" → "She has had pain for two weeks");
what the doctor says during the exam is the exam; what the doctor says about tests is the results; the
doctor's plan sentences become the assessment and plan. Symptoms the patient denied make the review of
systems. Small talk, fillers and one-word answers are left out.
"""

from __future__ import annotations

import re

from mederi.ai.scribe.extract import Finding, Sentence

SECTION_KEYS = ("chief_complaint", "history_of_present_illness", "review_of_systems", "physical_exam",
                "results", "assessment_and_plan")
HEADINGS = {"chief_complaint": "CHIEF COMPLAINT", "history_of_present_illness": "HISTORY OF PRESENT ILLNESS",
            "review_of_systems": "REVIEW OF SYSTEMS", "physical_exam": "PHYSICAL EXAM", "results": "RESULTS",
            "assessment_and_plan": "ASSESSMENT AND PLAN"}

EXAM_START = re.compile(r"\b(physical exam|examine you|take a look|look at|on exam|exam(ination)? (shows|reveals)|"
                        r"listen to your|let me (just )?(feel|press|check)|lay back|lie back|push on|press on)\b")
PLAN_START = re.compile(r"\b(impression|assessment|the plan|my plan|for your [a-z ]+, |so for|in terms of your|"
                        r"diagnosis|i think (you|that you|this|it)|i'm going to|i am going to|i want to|we're going to|"
                        r"we will|let's go ahead|recommend)\b")
EXAM_WORDS = re.compile(r"\b(tender\w*|swelling|edema|murmur|lungs?|clear|heart|abdomen|range of motion|"
                        r"strength|reflexes|palpat\w*|rash|erythema|normal|bilateral\w*|exam|auscultation|"
                        r"pulses?|effusion|sensation|wheez\w*|crackles|gallop|rub|soft|non-?tender|bruising|"
                        r"vital|blood pressure|heart rate|temperature|oxygen)\b")
RESULT_WORDS = re.compile(r"\b(x-?ray|mri|ct|ultrasound|echo\w*|ekg|ecg|lab\w*|blood work|results?|a1c|"
                          r"hemoglobin|cholesterol|showed|shows|revealed|came back|level|biopsy|scan)\b")
PLAN_WORDS = re.compile(r"\b(prescri\w*|order|refer\w*|follow ?up|start|continue|increase|decrease|stop|"
                        r"recommend\w*|therapy|surgery|injection|medication|schedule|come back|see you|"
                        r"mg|milligrams|diagnos\w*|plan|treat\w*)\b")
FILLER = re.compile(r"\b(um+|uh+|uh-huh|mm-hmm|hmm|you know|i mean|kind of|sort of|like,)\s*,?\s*", re.I)
SMALL_TALK = re.compile(r"\b(dragon|dax|weather|vacation|weekend|football|game|nice to meet|how are you|"
                        r"good morning|good afternoon|thank you|thanks|bye|have a good|sounds good)\b")


def clean(text: str) -> str:
    """Spoken text tidied for a note: fillers and stutters out, spacing and capitals right."""
    text = FILLER.sub("", text)
    text = re.sub(r"\b(\w+)( ,? \1\b)+", r"\1", text)  # "i , i" → "i"
    text = re.sub(r"\s+([,.?!])", r"\1", text)
    text = re.sub(r"\s+", " ", text).strip(" ,")
    text = re.sub(r"^(and|so|but|okay|ok|well|alright|all right|yeah|yes|no)\b[, ]*", "", text, flags=re.I)
    if not text:
        return ""
    text = re.sub(r"\bi\b", "I", text)
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!" else text + "."


# Third person: (first-person words → the note's words). Verbs after "she"/"he" get their -s below.
_PRONOUNS = [
    (r"\bi'm\b", "{s} is"), (r"\bi am\b", "{s} is"), (r"\bi've\b", "{s} has"), (r"\bi have\b", "{s} has"),
    (r"\bi'd\b", "{s} would"), (r"\bi'll\b", "{s} will"), (r"\bi was\b", "{s} was"), (r"\bi do\b", "{s} does"),
    (r"\bi don't\b", "{s} does not"), (r"\bi didn't\b", "{s} did not"), (r"\bi can't\b", "{s} cannot"),
    (r"\bi\b", "{s}"), (r"\bmy\b", "{p}"), (r"\bme\b", "{o}"), (r"\bmyself\b", "{r}"), (r"\bmine\b", "{p}s"),
]
_BASE_VERBS = ("feel", "get", "take", "go", "think", "notice", "need", "want", "like", "use", "try", "work",
               "walk", "eat", "sleep", "wake", "run", "see", "know", "hurt", "live", "drink", "smoke", "play",
               "check", "keep", "forget", "remember", "say", "come", "wear", "lift", "bend", "stand", "sit")
WORDS = {"female": ("she", "her", "her", "herself"), "male": ("he", "his", "him", "himself"),
         None: ("the patient", "their", "them", "themselves")}


def third_person(text: str, sex: str | None) -> str:
    s, p, o, r = WORDS[sex]
    lowered = text.lower()
    for pattern, replacement in _PRONOUNS:
        lowered = re.sub(pattern, replacement.format(s=s, p=p, o=o, r=r), lowered)
    if sex:
        verbs = "|".join(_BASE_VERBS)
        lowered = re.sub(rf"\b({s}) ({verbs})\b", lambda m: f"{m.group(1)} {_third(m.group(2))}", lowered)
    return lowered


def _third(verb: str) -> str:
    if verb == "go":
        return "goes"
    if verb.endswith(("s", "sh", "ch")):
        return verb + "es"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def patient_sex(units: list[Sentence]) -> str | None:
    text = " ".join(u.text.lower() for u in units[:60])
    female = len(re.findall(r"\b(she|her|female|woman|lady|mrs|ms|miss)\b", text))
    male = len(re.findall(r"\b(he|his|him|male|man|gentleman|mr)\b", text))
    if female > male:
        return "female"
    if male > female:
        return "male"
    return None


def _worth_keeping(text: str) -> bool:
    return len(text.split()) >= 5 and not SMALL_TALK.search(text.lower())


def build(units: list[Sentence], findings: list[Finding]) -> dict[str, str]:
    """The six sections' text from the transcript's sentences and the findings made from them."""
    sex = patient_sex(units)
    parts: dict[str, list[str]] = {key: [] for key in SECTION_KEYS}
    phase = "history"
    for unit in units:
        lowered = unit.text.lower()
        if unit.speaker == "doctor":
            if phase == "history" and EXAM_START.search(lowered):
                phase = "exam"
            elif phase in ("history", "exam") and PLAN_START.search(lowered) and not EXAM_WORDS.search(lowered):
                phase = "plan" if phase == "exam" or unit.turn > len(units) // 4 else phase
        if not _worth_keeping(unit.text):
            continue
        text = clean(unit.text)
        if not text or text.endswith("?"):
            continue
        if unit.speaker == "patient":
            if phase == "history":
                parts["history_of_present_illness"].append(clean(third_person(text, sex)))
            continue
        if RESULT_WORDS.search(lowered) and re.search(r"\b(showed|shows|revealed|came back|results?|level)\b",
                                                       lowered):
            parts["results"].append(text)
        elif phase == "exam" and EXAM_WORDS.search(lowered):
            parts["physical_exam"].append(text)
        elif phase == "plan" and PLAN_WORDS.search(lowered):
            parts["assessment_and_plan"].append(text)
        elif phase == "history" and re.search(r"\b(year-old|years old|presents|here for|history of)\b", lowered):
            parts["history_of_present_illness"].insert(0, text)
    problems = [f for f in findings if f.kind == "problem"]
    affirmed = [f.display for f in problems if not f.negated]
    denied = [f.display for f in problems if f.negated]
    parts["chief_complaint"] = [(affirmed[0] + ".") if affirmed else "Follow-up visit."]
    parts["review_of_systems"] = [f"Denies {_listed(denied)}."] if denied else []
    vitals = [f"{f.display}: {f.value}." for f in findings if f.kind == "vital"]
    parts["physical_exam"] = vitals + parts["physical_exam"]
    return {key: " ".join(_dedupe(parts[key])) if key == "chief_complaint" else "\n".join(_dedupe(parts[key]))
            for key in SECTION_KEYS}


def _listed(items: list[str]) -> str:
    items = [item[0].lower() + item[1:] for item in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _dedupe(lines: list[str]) -> list[str]:
    seen, kept = set(), []
    for line in lines:
        if line and line.lower() not in seen:
            seen.add(line.lower())
            kept.append(line)
    return kept


def render(sections: dict[str, str]) -> str:
    """The note as one text: each section's heading, then its text; empty sections left out."""
    return "\n\n".join(f"{HEADINGS[key]}\n\n{sections[key]}" for key in SECTION_KEYS if sections.get(key))
