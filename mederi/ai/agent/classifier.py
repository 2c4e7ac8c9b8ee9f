"""What a patient's message asks for: the offline intent engine.

Two parts, both small and offline. Rules (regular expressions over the message after common
misspellings are corrected) catch the phrasings staff see every day; a multinomial naive Bayes model
over word and character n-grams, learned from the training messages in `training.jsonl`, covers
the rest. Their scores are combined; a message whose best intent scores under `CONFIDENT` is
"unknown" and goes to a person. Messages in another language are recognised first and handed over.
The held-out test set (testset/) is never used here; benchmarks/eval_agent.py measures on it.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from mederi.ai.agent.language import detect_language

INTENTS = ("confirm", "cancel", "reschedule", "running_late", "office_hours", "directions", "refill", "billing",
           "human")
OTHER_LANGUAGE, UNKNOWN = "other_language", "unknown"
CONFIDENT = 0.5  # below this the agent does not act: a person answers
TRAINING = Path(__file__).with_name("training.jsonl")

# Words patients often misspell, corrected before the rules run (close matches, see `_corrected`).
VOCABULARY = ("appointment", "cancel", "confirm", "reschedule", "refill", "prescription", "medication", "pharmacy",
              "insurance", "statement", "balance", "invoice", "payment", "directions", "address", "parking",
              "tomorrow", "running", "minutes", "hours", "open", "closed", "person", "human", "someone",
              "representative", "receptionist", "billing", "charged", "different", "another", "schedule", "coming",
              "traffic", "inhaler", "refund", "copay", "deductible", "located", "saturday", "sunday", "weekend")

RULES: dict[str, tuple[tuple[str, float], ...]] = {
    "confirm": ((r"\b(confirm(ed|ing)?|i('| wi)ll be there|see you (then|tomorrow|soon)|count me in|"
                 r"i('ll| will) (come|make it)|still on|will attend|yes,? (i('ll| will)|please|confirm))\b", 2.0),
                (r"^\s*(yes|yep|yeah|ok(ay)?|sure|sounds good|great|perfect)\b[\s.!]*$", 1.0)),
    "cancel": ((r"\b(cancel+(ed|ing|ation)?|can ?not (make|come)|can'?t (make|come)|won'?t (make|be able|be coming"
                r"|come)|not (be )?(coming|able to (make|come))|call (it )?off|drop (my|the) appointment|"
                r"no longer need|unable to (come|make))\b", 2.0),),
    "reschedule": ((r"\b(re-?schedul\w*|re-?book\w*|move (my|the|it)|change (my|the) (appointment|time|day)|"
                    r"(another|different|other|new|later|earlier) (time|day|date|slot|appointment)|"
                    r"push (it|my appointment) back|instead|switch (to|my)|other options|what else is open)\b",
                    2.5),),
    "running_late": ((r"\b(running (a bit |a little |about |\d+ ?(min\w*|mins) )?late|be late|"
                      r"(\d+|few|couple|ten|fifteen|twenty|five) (min\w*|mins) (late|behind)|"
                      r"stuck in traffic|on (my|the) way|late(r)? than|delayed|behind schedule|"
                      r"running behind|be there (in|by) \d+)\b", 2.5),),
    "office_hours": ((r"\b(hours|open(ing)? (time|hours)?|what time do you (open|close)|when (do|are) you "
                      r"(open|close)|are you open|closed? (on|today|tomorrow|saturday|sunday)|close (at|today)|"
                      r"(open|closed?) (on )?(the )?weekends?|holiday)\b", 2.0),),
    "directions": ((r"\b(directions?|address|where (are|is) (you|the (office|clinic))|located|location|"
                    r"how (do i|to) get (there|to you)|parking|park|which (floor|building|entrance)|bus|map)\b",
                    2.0),),
    "refill": ((r"\b(refill\w*|prescription|renew (my )?(med|script|rx)|run(ning)? out of|out of (my )?\w+ "
                r"(pills|meds|medication|inhaler)|more (pills|meds|medication)|pharmacy|rx\b|script|"
                r"(meds|medication|inhaler|pills) (refill|renewal))", 2.5),),
    "billing": ((r"\b(bill(ed|ing|s)?|invoice|statement|balance|charged?|payment|pay (my|the|a)|owe|"
                 r"insurance|copay|co-pay|deductible|refund|receipt|explanation of benefits|eob|cost)\b", 2.5),),
    "human": ((r"\b(talk|speak|chat) (to|with) (a |an |the |my |some)?(real |actual |live )?(human|person|someone|"
               r"somebody|receptionist|representative|nurse|doctor|staff|agent|people)|real person|"
               r"human please|(representative|operator|receptionist)\b|call me( back)?\b|"
               r"not a (bot|robot|machine)|are you a (bot|robot)", 3.0),),
}
# When two intents' rules fire, these mean one thing: "cancel and rebook" is a reschedule.
PRECEDENCE = {frozenset({"cancel", "reschedule"}): "reschedule",
              frozenset({"running_late", "cancel"}): "cancel",
              frozenset({"confirm", "running_late"}): "running_late",
              frozenset({"confirm", "reschedule"}): "reschedule",
              frozenset({"office_hours", "directions"}): "directions"}
# Intents that can ride along with another: a refill or a bill question is queued as well.
ALSO_QUEUED = ("refill", "billing")


@dataclass(frozen=True)
class Understanding:
    intent: str  # one of INTENTS, OTHER_LANGUAGE or UNKNOWN
    confidence: float
    language: str = "English"
    also: tuple[str, ...] = ()  # further intents the message asks for that are queued for staff
    scores: dict[str, float] = field(default_factory=dict, compare=False)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


# Everyday words a spelling match would wrongly "correct" ("building" is not "billing").
NOT_MISSPELT = {"building", "calling", "filling", "feeling", "willing", "killing", "holding", "opening", "closer",
                "person", "personal", "coming", "morning", "another", "mother", "brother", "planning", "running"}


@lru_cache(maxsize=4096)
def _corrected_word(word: str) -> str:
    if len(word) < 5 or word in VOCABULARY or word in NOT_MISSPELT:
        return word
    close = difflib.get_close_matches(word, VOCABULARY, n=1, cutoff=0.8)
    return close[0] if close else word


def normalised(text: str) -> str:
    """Lower case, spelling of the vocabulary words corrected: 'apointment' reads 'appointment'."""
    return " ".join(_corrected_word(w) for w in _tokens(text.replace("’", "'")))


def rule_scores(text: str) -> dict[str, float]:
    scores: dict[str, float] = {}
    for intent, patterns in RULES.items():
        for pattern, weight in patterns:
            if re.search(pattern, text):
                scores[intent] = scores.get(intent, 0.0) + weight
    return scores


def _features(text: str) -> list[str]:
    words = text.split()
    grams = [f"w:{w}" for w in words] + [f"b:{a}_{b}" for a, b in zip(words, words[1:])]
    padded = f" {text} "
    grams += [f"c:{padded[i:i + 4]}" for i in range(len(padded) - 3)]
    return grams


SHARPNESS = 4.0


class NaiveBayes:
    """Multinomial naive Bayes with add-alpha smoothing: small, fast, and enough for short messages."""

    def __init__(self, alpha: float = 0.3):
        self.alpha = alpha
        self.priors: dict[str, float] = {}
        self.counts: dict[str, Counter] = {}
        self.totals: dict[str, int] = {}
        self.vocabulary: set[str] = set()

    def fit(self, texts: list[str], labels: list[str]) -> "NaiveBayes":
        by_label: dict[str, Counter] = defaultdict(Counter)
        for text, label in zip(texts, labels):
            by_label[label].update(_features(normalised(text)))
        self.counts = dict(by_label)
        self.vocabulary = {f for counts in by_label.values() for f in counts}
        self.totals = {label: sum(c.values()) for label, c in by_label.items()}
        label_counts = Counter(labels)
        self.priors = {label: math.log(n / len(labels)) for label, n in label_counts.items()}
        return self

    def probabilities(self, text: str) -> dict[str, float]:
        features = [f for f in _features(text) if f in self.vocabulary]
        size = len(self.vocabulary)
        logs = {}
        for label, prior in self.priors.items():
            counts, denominator = self.counts[label], self.totals[label] + self.alpha * size
            logs[label] = prior + sum(math.log((counts[f] + self.alpha) / denominator) for f in features)
        # Overlapping n-grams are far from independent, which makes raw posteriors overconfident:
        # the evidence is averaged per feature and scaled (SHARPNESS was chosen on the training set).
        temperature = max(1.0, len(features) / SHARPNESS)
        top = max(logs.values())
        exp = {label: math.exp((value - top) / temperature) for label, value in logs.items()}
        total = sum(exp.values())
        return {label: value / total for label, value in exp.items()}


def training_examples(path: Path = TRAINING) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@lru_cache(maxsize=1)
def trained_model() -> NaiveBayes:
    examples = [e for e in training_examples() if e["intent"] in INTENTS or e["intent"] == UNKNOWN]
    return NaiveBayes().fit([e["message"] for e in examples], [e["intent"] for e in examples])


def understand(text: str) -> Understanding:
    """The intent of one message, how sure the engine is, and its language."""
    language = detect_language(text)
    if language != "English":
        return Understanding(OTHER_LANGUAGE, 1.0, language)
    clean = normalised(text)
    if not clean:
        return Understanding(UNKNOWN, 0.0)
    rules = rule_scores(clean)
    learned = trained_model().probabilities(clean)
    if rules:
        total = sum(rules.values())
        combined = {i: 0.6 * rules.get(i, 0.0) / total + 0.4 * learned.get(i, 0.0) for i in set(rules) | set(learned)}
    else:  # the model alone must be surer before the agent acts on it
        combined = {i: 0.8 * p for i, p in learned.items()}
    fired = frozenset(i for i in rules if i not in ALSO_QUEUED)
    intent, confidence = max(combined.items(), key=lambda item: item[1])
    if len(fired) == 2 and fired in PRECEDENCE:
        intent = PRECEDENCE[fired]
    elif len(fired) == 1 and intent in ALSO_QUEUED:  # "late, and a refill too": act on the one, queue the other
        intent = next(iter(fired))
    confidence = max(confidence, combined[intent])
    also = tuple(i for i in ALSO_QUEUED if i in rules and i != intent)
    if intent == UNKNOWN or confidence < CONFIDENT:
        return Understanding(UNKNOWN, confidence, also=also, scores=combined)
    return Understanding(intent, round(confidence, 3), also=also, scores=combined)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ORDINALS = {"first": 1, "1st": 1, "one": 1, "second": 2, "2nd": 2, "two": 2, "third": 3, "3rd": 3, "three": 3,
            "last": -1}
NONE_OF_THEM = re.compile(r"\b(none|neither|no(ne)? of (those|them|these)|doesn'?t work|don'?t work|other times?|"
                          r"something else|later ones?|nope|no thanks?)\b")


def preferences(text: str) -> dict:
    """What a reschedule request says about the new time: 'morning'/'afternoon' and weekdays."""
    clean = normalised(text)
    wanted: dict = {}
    if re.search(r"\b(morning|am|early)\b", clean):
        wanted["time_of_day"] = "morning"
    elif re.search(r"\b(afternoon|pm|after lunch|evening)\b", clean):
        wanted["time_of_day"] = "afternoon"
    days = [n for n, day in enumerate(WEEKDAYS) if re.search(rf"\b({day}|{day[:3]})s?\b", clean)]
    if days:
        wanted["weekdays"] = days
    return wanted


def picked_option(text: str, offered: list[dict]) -> int | None:
    """Which offered slot the reply picks (0-based), or None: '2', 'the second', 'Tue 9:30', '10am'."""
    clean = " ".join(re.findall(r"[a-z0-9:']+", text.lower()))  # times keep their colon
    if not offered or NONE_OF_THEM.search(clean):
        return None
    number = re.fullmatch(r"\s*(?:option\s*|number\s*|#)?(\d)\s*[.!)]?\s*(?:please|pls|thanks?|thank you)?\s*", clean)
    if number and 1 <= int(number.group(1)) <= len(offered):
        return int(number.group(1)) - 1
    for word, place in ORDINALS.items():
        if re.search(rf"\b(the )?{word}( one| option| time)?\b", clean) and not re.search(r"\d", clean):
            return len(offered) - 1 if place == -1 else (place - 1 if place <= len(offered) else None)
    matches = [n for n, slot in enumerate(offered) if _mentions(clean, slot)]
    return matches[0] if len(matches) == 1 else None


def _mentions(clean: str, slot: dict) -> bool:
    """Does the reply name this slot's time (and its day, when it names a day)?"""
    hour, minute = slot["hour"], slot["minute"]
    twelve = hour % 12 or 12
    times = {f"{hour}:{minute:02d}", f"{twelve}:{minute:02d}"}
    if minute == 0:
        times |= {f"{twelve}am" if hour < 12 else f"{twelve}pm", f"{twelve} am" if hour < 12 else f"{twelve} pm",
                  f"{hour}:00"}
    compact = clean.replace(" :", ":")
    said_time = any(re.search(rf"(?<![\d:]){re.escape(t)}(?![\d])", compact) for t in times)
    said_day = [day for day in WEEKDAYS if re.search(rf"\b({day}|{day[:3]})\b", clean)]
    if said_day and WEEKDAYS[slot["weekday"]] not in said_day:
        return False
    return said_time or (bool(said_day) and not re.search(r"\d", clean))


def minutes_late(text: str) -> int | None:
    words = {"five": 5, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30, "half an hour": 30, "an hour": 60}
    found = re.search(r"(\d{1,3})\s*(?:min|mins|minutes)", text.lower())
    if found:
        return int(found.group(1))
    for word, value in words.items():
        if re.search(rf"\b{word}\b", text.lower()):
            return value
    return None
