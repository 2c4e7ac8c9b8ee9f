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
from dataclasses import dataclass

from mederi.ai.scribe import selection
from mederi.ai.scribe.extract import ANSWER_YES, Finding, Sentence, said

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
RESULT_CUE = re.compile(r"\b(showed|shows|revealed|came back|results?|level)\b")
INTRODUCTION = re.compile(r"\b(year-old|years old|presents|here for|history of)\b")
FILLER = re.compile(r"\b(um+|uh+|uh-huh|mm-hmm|hmm|you know|i mean|kind of|sort of|like,|okay,?|just|actually|"
                    r"basically|pretty much)\s*,?\s*", re.I)
SMALL_TALK = re.compile(r"\b(dragon|dax|weather|vacation|weekend|football|game|nice to meet|how are you|"
                        r"good morning|good afternoon|thank you|thanks|bye|have a good|sounds good)\b")


# How transcribers split spoken contractions ("wan na", "do n't") → the written word.
SPOKEN = [(r"\bwan na\b", "want to"), (r"\bgon na\b", "going to"), (r"\bgot ta\b", "got to"),
          (r"\b(\w+) n't\b", r"\1n't"), (r"\b(\w+) '(s|re|ve|ll|d|m)\b", r"\1'\2"), (r"\bcan't\b", "cannot"),
          (r"\bwon't\b", "will not"), (r"\bmilligrams?\b", "mg"), (r"\bonce a day\b", "daily"),
          (r"\ba day\b", "daily"), (r"\btwice a day\b", "twice daily")]


def spoken_to_written(text: str) -> str:
    for pattern, replacement in SPOKEN:
        text = re.sub(pattern, replacement, text, flags=re.I)
    return text


def clean(text: str) -> str:
    """Spoken text tidied for a note: fillers and stutters out, spacing and capitals right."""
    text = FILLER.sub("", spoken_to_written(text))
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


_SUBJECT_BEFORE = r"(?:^|[,;]|\b(?:that|and|if|but|because|so|when|since|unless|until|where|how|as))\s*"


def addressed_to_note(text: str, sex: str | None) -> str:
    """The doctor's words to the patient as the note says them: "your knee" → "her knee"."""
    s, p, o, r = WORDS[sex]
    text = re.sub(r"\byou're\b", f"{s} is" if sex else f"{s} is", text, flags=re.I)
    text = re.sub(r"\byou've\b", f"{s} has", text, flags=re.I)
    text = re.sub(r"\byou'll\b", f"{s} will", text, flags=re.I)
    text = re.sub(r"\byour\b", p, text, flags=re.I)
    text = re.sub(r"\byourself\b", r, text, flags=re.I)
    text = re.sub(rf"({_SUBJECT_BEFORE})you\b", rf"\1{s}", text, flags=re.I)
    text = re.sub(r"\byou\b", o, text, flags=re.I)
    text = re.sub(rf"\b({s}) (have|are|were|do|feel|need|want|take|get|go)\b",
                  lambda m: f"{m.group(1)} {_AGREE.get(m.group(2), m.group(2))}", text, flags=re.I) if sex else text
    return re.sub(r"^(i'm|i am|i|we're|we are|we) (also |just |really |do |definitely )?(going to|want to|would like to|"
                  r"'d like to|will|'ll)\b( go ahead and)?|^let's( go ahead and)?", "We will", text, flags=re.I)


_AGREE = {"have": "has", "are": "is", "were": "was", "do": "does", "feel": "feels", "need": "needs",
          "want": "wants", "take": "takes", "get": "gets", "go": "goes"}


def _third(verb: str) -> str:
    if verb == "go":
        return "goes"
    if verb.endswith(("s", "sh", "ch")):
        return verb + "es"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def patient_sex(units: list[Sentence]) -> str | None:
    """The patient's sex as the visit lets it show: the doctor's introduction ("a 50-year-old female",
    "mrs. collins") counts most, then pronouns used about the patient."""
    text = " ".join(u.text.lower() for u in units)
    female = 5 * len(re.findall(r"\b(female|woman|lady|mrs|ms|miss|girl)\b", text))
    male = 5 * len(re.findall(r"\b(male|man|gentleman|mr|boy|guy)\b", text))
    female += len(re.findall(r"\b(she|her|herself)\b", text))
    male += len(re.findall(r"\b(he|his|him|himself)\b", text))
    if female > male:
        return "female"
    if male > female:
        return "male"
    return None


NO_CONTENT = re.compile(r"^\W*(no|nope|not|nothing|none|yes|yeah|okay|right|sure)\b[^.]{0,25}\W*$")


def _worth_keeping(text: str) -> bool:
    lowered = text.lower()
    return len(text.split()) >= 5 and not SMALL_TALK.search(lowered) and not NO_CONTENT.match(lowered)


@dataclass(frozen=True)
class Candidate:
    """A transcript sentence as it would read in a section, and what the selection model looks at."""
    section: str
    text: str  # in the note's voice
    spoken: str  # as said, lower case
    speaker: str
    phase: str
    position: float  # 0 at the visit's start, 1 at its end
    cued: bool  # the section's own words are in it (exam words in the exam, plan words in the plan)


def candidates(units: list[Sentence], sex: str | None, turns: list[tuple[str, str]]) -> list[Candidate]:
    """Every sentence that could go in the note, placed in its section by the visit's phase and speaker."""
    found = []
    phase = "history"
    for number, unit in enumerate(units):
        lowered = unit.text.lower()
        if unit.speaker == "doctor":
            if phase == "history" and EXAM_START.search(lowered):
                phase = "exam"
            elif phase in ("history", "exam") and PLAN_START.search(lowered) and not EXAM_WORDS.search(lowered):
                phase = "plan" if phase == "exam" or unit.turn > len(units) // 4 else phase
        if not _worth_keeping(unit.text):
            continue
        position = number / max(len(units) - 1, 1)
        text = clean(unit.text)
        if text.endswith("?") and unit.speaker == "doctor" and phase == "history":
            confirmed = _confirmed(unit, turns, sex)
            if confirmed:
                found.append(Candidate("history_of_present_illness", confirmed, lowered, "confirmed", phase,
                                       position, True))
            continue
        if not text or text.endswith("?"):
            continue
        if unit.speaker == "patient":
            found.append(Candidate("history_of_present_illness", clean(third_person(text, sex)), lowered,
                                   "patient", phase, position, phase == "history"))
            continue
        text = clean(addressed_to_note(spoken_to_written(text), sex))
        if RESULT_WORDS.search(lowered) and RESULT_CUE.search(lowered):
            section, cued = "results", True
        elif phase == "exam":
            section, cued = "physical_exam", bool(EXAM_WORDS.search(lowered))
        elif phase == "plan":
            section, cued = "assessment_and_plan", bool(PLAN_WORDS.search(lowered))
        else:
            section, cued = "history_of_present_illness", bool(INTRODUCTION.search(lowered))
        found.append(Candidate(section, text, lowered, unit.speaker, phase, position, cued))
    return found


PAINFUL = re.compile(r"\b(?:my|the|her|his) ((?:right|left|lower|upper) )?(knee|back|shoulder|hip|neck|ankle|wrist|"
                     r"elbow|foot|hand|arm|leg|head|chest|stomach|belly|throat|ear|tooth)s? (?:has been |is |was |"
                     r"have been |has |keeps |started )?(?:hurting|hurts|pain|aching|sore|bothering)")


VISIT_REASON = re.compile(r"\b(?:presents?|presenting|here|is in|comes? in|coming in)(?: today)?(?: to the \w+)? "
                          r"(?:for|with)(?: an?| the| his| her| their)? (.{3,60}?)(?:,| and (?:he|she|they)\b|\.|$)")


def _complaint(units: list[Sentence]) -> str | None:
    """Why the patient came, as the clinician introduced the visit ("… here for follow-up of chronic problems"),
    else what the patient first says hurts: "my right knee has been hurting" → "right knee pain"."""
    for unit in units[:12]:
        text = unit.text.lower()
        match = VISIT_REASON.search(text) if unit.speaker == "doctor" and "?" not in text else None
        if match and not re.match(r"(?:your?|what|which|me)\b", match.group(1)):
            reason = re.sub(r"\b(?:his|her|their|some)\s+", "", match.group(1)).strip()
            reason = re.sub(r"^(?:complaints? of|evaluation of|an evaluation of)\s+", "", reason)
            return re.sub(r"^follow ?up\b", "follow-up", reason)
    for unit in units:
        match = PAINFUL.search(unit.text.lower()) if unit.speaker == "patient" else None
        if match:
            return f"{match.group(1) or ''}{match.group(2)} pain"
    return None


# A yes-or-no question whose answer the patient gave: "are you taking your medication?" / "yes".
_QUESTION = re.compile(r"^(?:(?:and|so|okay|now|um|uh)\W+)*(are you|have you been|have you|you're|you've|you are|"
                       r"you have been|you have|you were|were you)\b(.+?)\W*\?$")
_STATEMENT = {"are you": "is", "you're": "is", "you are": "is", "have you been": "has been", "you have been": "has been",
              "have you": "has", "you've": "has", "you have": "has", "you were": "was", "were you": "was"}


def _confirmed(unit: Sentence, turns: list[tuple[str, str]], sex: str | None) -> str | None:
    """The question as a statement about the patient when the patient's next turn says yes."""
    following = turns[unit.turn + 1] if unit.turn + 1 < len(turns) else ("", "")
    if following[0] != "patient" or not ANSWER_YES.search(following[1].lower()):
        return None
    match = _QUESTION.match(spoken_to_written(FILLER.sub("", unit.text.lower())).strip())
    if not match or len(match.group(2).split()) < 2:
        return None
    subject = WORDS[sex][0]
    return clean(f"{subject} {_STATEMENT[match.group(1)]}{addressed_to_note(match.group(2), sex)}.")


def build(units: list[Sentence], findings: list[Finding], turns: list[tuple[str, str]],
          model: dict | None = None) -> dict[str, str]:
    """The six sections' text from the transcript's sentences and the findings made from them
    (`model`: the sentence selection model, the shipped one by default)."""
    parts: dict[str, list[str]] = {key: [] for key in SECTION_KEYS}
    sex = patient_sex(units)
    reported, introduced = 0, False
    for candidate in selection.chosen(candidates(units, sex, turns), model):
        if candidate.section == "history_of_present_illness" and candidate.speaker == "doctor" and candidate.cued:
            parts[candidate.section].insert(0, candidate.text)  # "Martha is a 50-year-old female ..." leads
            introduced = True
        elif candidate.speaker == "patient":
            # the history says whose account it is, as the practice's notes do, every other sentence
            subject = WORDS[sex][0]
            if candidate.text.lower().startswith(f"{subject} ") and reported % 2 == 0:
                text = f"The patient reports that {candidate.text[0].lower()}{candidate.text[1:]}"
            else:
                text = candidate.text
            reported += 1
            parts[candidate.section].append(text)
        else:
            parts[candidate.section].append(candidate.text)
    problems = [f for f in findings if f.kind == "problem"]
    affirmed = [said(turns, f) for f in problems if not f.negated and not f.uncertain]
    denied = _dedupe([said(turns, f).lower() for f in problems if f.negated])
    complaint = _complaint(units) or next((said(turns, f) for f in problems if not f.negated and not f.uncertain
                                           and turns[f.turn][0] == "patient"), None) or next(iter(affirmed), None)
    parts["chief_complaint"] = [f"{complaint[0].upper()}{complaint[1:]}." if complaint else "Follow-up visit."]
    if not introduced:
        reason = "follow-up" if not complaint else complaint.lower() if re.match(
            r"(?:follow-up|routine|annual|second opinion|surgical|evaluation)\b", complaint.lower()) \
            else f"evaluation of {complaint.lower()}"
        parts["history_of_present_illness"].insert(0, f"The patient presents today for {reason}.")
    symptoms: dict[str, list[str]] = {}
    for item in denied:
        symptoms.setdefault(body_system(item) or "Constitutional", []).append(item)
    endorsed: dict[str, list[str]] = {}
    for item in _dedupe([said(turns, f).lower() for f in problems if not f.negated and not f.uncertain
                         and turns[f.turn][0] == "patient"]):
        if body_system(item):
            endorsed.setdefault(body_system(item), []).append(item)
    parts["review_of_systems"] = [
        "• " + name + ": " + " ".join(([f"Endorses {_listed(endorsed[name])}."] if name in endorsed else [])
                                      + ([f"Denies {_listed(symptoms[name])}."] if name in symptoms else []))
        for name, _ in BODY_SYSTEMS if name in symptoms or name in endorsed]
    vitals = [f"• {f.display}: {f.value}." for f in findings if f.kind == "vital"]
    parts["physical_exam"] = vitals + by_system(parts["physical_exam"])
    parts["assessment_and_plan"] = _plan(parts["assessment_and_plan"], findings, turns, complaint)
    if parts["history_of_present_illness"]:  # the plan opens with the one-line summary of the visit
        parts["assessment_and_plan"].insert(0, parts["history_of_present_illness"][0])
    return {key: " ".join(_dedupe(parts[key])) if key == "chief_complaint" else "\n".join(_dedupe(parts[key]))
            for key in SECTION_KEYS}


# Body systems as the notes name them, and words that place a finding or a symptom in one.
BODY_SYSTEMS = [
    ("Constitutional", r"fever|chills|fatigue|tired|weight|appetite|distress|night sweats"),
    ("Eyes", r"eyes?|vision|visual|pupils?"),
    ("Ears, Nose, Mouth and Throat", r"ears?|nose|nasal|throat|sinus\w*|congestion|mouth|hearing|tonsils?"),
    ("Neck", r"neck|thyroid|lymph nodes?|lymphadenopathy|carotid|jugular"),
    ("Cardiovascular", r"heart|chest pains?|murmur|palpitations?|edema|swelling in (her|his|the|their) legs|"
                       r"rub|gallop|pulses?|cardiac"),
    ("Respiratory", r"lungs?|breath\w*|wheez\w*|cough\w*|crackles|rales|rhonchi|dyspnea|respiratory"),
    ("Gastrointestinal", r"abdom\w*|belly|stomach|nausea|vomiting|diarrhea|constipation|bowel|heartburn|"
                         r"reflux|bloating|blood in (her|his|the) stools?"),
    ("Genitourinary", r"urin\w*|bladder|kidney|dysuria|pelvic|flank"),
    ("Musculoskeletal", r"knee|shoulder|hip|back|ankle|wrist|elbow|joint|spine|range of motion|muscle|"
                        r"tender\w*|effusion|extremit\w*|foot|hand|arm|leg"),
    ("Integumentary", r"skin|rash|lesion|wound|incision|bruis\w*|erythema|itch\w*"),
    ("Neurological", r"reflexes|sensation|numb\w*|tingling|headaches?|dizz\w*|strength|neuro\w*|gait|"
                     r"weakness|seizures?"),
    ("Psychiatric", r"depress\w*|anxi\w*|mood|suicid\w*|sleep"),
]


def body_system(text: str) -> str | None:
    lowered = text.lower()
    for name, words in BODY_SYSTEMS:
        if re.search(rf"\b({words})\b", lowered):
            return name
    return None


def by_system(lines: list[str]) -> list[str]:
    """Lines grouped under their body system as "• System: ...", in the notes' order of systems."""
    grouped: dict[str, list[str]] = {}
    for line in lines:
        grouped.setdefault(body_system(line) or "", []).append(line)
    grouped = {name: _dedupe(found) for name, found in grouped.items()}
    order = [name for name, _ in BODY_SYSTEMS] + [""]
    return [f"• {name}: {' '.join(grouped[name])}" if name else " ".join(grouped[name])
            for name in order if grouped.get(name)]


AGREEMENT = "Patient Agreements: The patient understands and agrees with the recommended medical treatment plan."


# The parts of a problem's plan the practice's notes name, and the words that place a sentence in one.
PLAN_PARTS = [
    ("Additional Testing", re.compile(r"\b(order|x-?ray|mri|ct|ultrasound|echo\w*|ekg|lab\w*|blood work|test\w*|"
                                      r"panel|a1c|biopsy|scan|imaging|culture)\b")),
    ("Medical Treatment", re.compile(r"\b(prescri\w*|mg|medication\w*|start|continue|increase|decrease|stop|"
                                     r"refill|dose|injection|surgery|therapy|brace|refer\w*|procedure)\b")),
    ("Patient Education and Counseling", re.compile(r"\b(recommend\w*|advise\w*|encourage\w*|should|avoid|ice|"
                                                    r"rest|diet|exercise|educat\w*|call|questions)\b")),
]


def _plan_part(line: str) -> str:
    lowered = line.lower()
    return next((name for name, words in PLAN_PARTS if words.search(lowered)), "Medical Reasoning")


def _plan(lines: list[str], findings: list[Finding], turns: list[tuple[str, str]],
          complaint: str | None = None) -> list[str]:
    """The problems discussed, numbered; under each, the plan sentences spoken about it (from the one that
    names it to the one that names the next) by part: reasoning, testing, treatment, counselling. Ends with
    the agreement line most of the practice's notes close with."""
    problems = _dedupe([said(turns, f).capitalize() for f in findings
                        if f.kind == "problem" and not f.negated and not f.uncertain])[:5]
    if not problems and complaint:
        problems = [complaint[0].upper() + complaint[1:]]  # the complaint is what the plan is about
    closing = [AGREEMENT, *filter(None, [follow_up(turns)])]
    if not problems:
        return [*lines, *closing]
    about: dict[str, list[str]] = {problem: [] for problem in problems}
    current = problems[0]
    for line in lines:
        current = next((p for p in problems if p.lower() in line.lower()), current)
        about[current].append(line)
    result = []
    for number, problem in enumerate(problems, start=1):
        result.append(f"{number}. {problem}.")
        parts: dict[str, list[str]] = {}
        for line in about[problem]:
            parts.setdefault(_plan_part(line), []).append(line)
        for name in ["Medical Reasoning", *(name for name, _ in PLAN_PARTS)]:
            if parts.get(name):
                result.append(f"• {name}: {' '.join(parts[name])}")
    return [*result, *closing]


NUMBER_WORDS = {"a": "1", "an": "1", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                "eight": "8", "ten": "10", "twelve": "12", "a couple": "2", "a couple of": "2", "a few": "a few"}
RETURN_VISIT = re.compile(r"\b(?:see (?:you|him|her|them) (?:back )?|come back |follow[- ]up |return )(?:with (?:me )?)?"
                          r"in (a couple of|a couple|a few|an?|one|two|three|four|five|six|eight|ten|twelve|\d+) "
                          r"(day|week|month|year)s?\b")


def follow_up(turns: list[tuple[str, str]]) -> str | None:
    """When the clinician said the patient should come back: "The patient will follow up in 2 weeks."."""
    for speaker, text in reversed(turns):  # the last time it was said is the plan
        found = RETURN_VISIT.search(text.lower()) if speaker == "doctor" else None
        if found:
            count = NUMBER_WORDS.get(found.group(1), found.group(1))
            unit = found.group(2) + ("" if count == "1" else "s")
            return f"The patient will follow up in {count} {unit}."
    return None


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
