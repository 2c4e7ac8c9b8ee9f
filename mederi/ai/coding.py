"""ICD-10-CM candidates from a note's text: phrases matched, negated mentions dropped, billable codes ranked.

The phrases are the curated synonyms (`synonyms.SYNONYMS`) and the short descriptions of every billable
code in the code set (PyPI `simple-icd-10-cm`), cleaned of parentheses and of ", unspecified ..." tails.
Both sides are normalised the same way (lower case, words only, plural endings dropped), and the text is
scanned for the longest phrase starting at each word. A mention inside a negation window ("denies
chest pain", "no history of diabetes", "pneumonia was ruled out") or about a relative ("family history
of") gives no code: the NegEx idea, with a small trigger list of our own.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import simple_icd_10_cm as icd

from mederi.ai.synonyms import SYNONYMS
from mederi.billing.claims import icd10

MAX_PHRASE = 6  # words
NEGATION_WINDOW = 5  # words between a trigger and the mention it negates
MAX_SUGGESTIONS = 15

# Triggers before the mention, compared after the same normalisation as the text (see `words`).
PRE_NEGATIONS = (
    "no", "not", "denies", "deny", "denied", "without", "negative for", "free of", "absence of", "absent",
    "no history of", "no evidence of", "no sign of", "rule out", "ruled out", "r o", "never had", "nor",
    "family history of", "history in the family of", "mother has", "father has",
)
# Triggers after the mention ("chest pain was ruled out").
POST_NEGATIONS = ("ruled out", "is negative", "was negative", "were negative", "not present", "was excluded",
                  "was absent", "unlikely", "resolved")
POST_WINDOW = 3
# Words that end a negation's reach: a new clause speaks of something else.
TERMINATORS = {"but", "however", "although", "except", "though", "yet", "which", "who", "presents",
               "presented", "reports", "report", "complain", "complains", "complained", "has", "with"}


@dataclass(frozen=True)
class Token:
    word: str
    start: int
    end: int
    sentence: int


@dataclass(frozen=True)
class Match:
    code: str  # billable, with its dot
    display: str
    score: float
    start: int  # first mention in the text
    end: int
    mentions: int
    source: str  # "synonym table" or "code description"


def stem(word: str) -> str:
    """Stemming-lite: plural endings only, so "lesions" meets "lesion" and "arteries" meets "artery"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()))


def tokens(text: str) -> list[Token]:
    found, sentence = [], 0
    for piece in re.finditer(r"[A-Za-z0-9]+|[.;:!?\n]", text):
        if piece.group() in ".;:!?\n":
            sentence += 1
            continue
        found.append(Token(stem(piece.group().lower()), piece.start(), piece.end(), sentence))
    return found


def _clean_description(description: str) -> str:
    text = re.sub(r"\([^)]*\)", " ", description)
    text = re.sub(r",\s*(unspecified|not elsewhere classified|site not specified)\b.*$", "", text, flags=re.I)
    return text


@functools.lru_cache(maxsize=1)
def phrase_table() -> dict[tuple[str, ...], tuple[str, str]]:
    """Normalised phrase → (billable code, source). Built once per process (about five seconds)."""
    table: dict[tuple[str, ...], tuple[str, str]] = {}
    preference: dict[tuple[str, ...], tuple] = {}
    for code in icd.get_all_codes(False):
        # External causes (chapter 20: V00-Y99) say how, not what: never a diagnosis from a mention.
        if not icd.is_leaf(code) or icd.is_chapter_or_block(code) or code[0] in "VWXY":
            continue
        description = icd.get_description(code)
        phrase = words(_clean_description(description))
        if not phrase or len(phrase) > MAX_PHRASE:
            continue
        # Several codes can share a phrase: keep the unspecified one, then the shortest code.
        rank = ("unspecified" not in description.lower(), len(code), code)
        if phrase not in preference or rank < preference[phrase]:
            preference[phrase] = rank
            table[phrase] = (icd10.dotted(code), "code description")
    for code, phrases in SYNONYMS.items():
        for phrase in phrases:
            table[words(phrase)] = (icd10.dotted(code), "synonym table")
    return table


def has_trigger(sequence: list[str], triggers: tuple[str, ...]) -> bool:
    joined = f" {' '.join(sequence)} "
    return any(f" {' '.join(words(trigger))} " in joined for trigger in triggers)


def negated(all_tokens: list[Token], first: int, last: int) -> bool:
    """Whether the mention made of tokens first..last is negated or about someone else."""
    sentence = all_tokens[first].sentence
    before: list[str] = []
    for token in reversed(all_tokens[max(0, first - NEGATION_WINDOW - 3):first]):
        if token.sentence != sentence or token.word in TERMINATORS:
            break
        before.insert(0, token.word)
    # a trigger counts only when it sits within the window of the mention
    if has_trigger(before[-(NEGATION_WINDOW + 3):], PRE_NEGATIONS):
        return True
    after = [t.word for t in all_tokens[last + 1:last + 1 + POST_WINDOW + 1] if t.sentence == sentence]
    return has_trigger(after, POST_NEGATIONS)


def suggest_codes(text: str) -> list[Match]:
    """Billable ICD-10-CM codes mentioned (not negated) in `text`, best first."""
    table = phrase_table()
    all_tokens = tokens(text)
    hits: dict[str, dict] = {}
    index = 0
    while index < len(all_tokens):
        for length in range(min(MAX_PHRASE, len(all_tokens) - index), 0, -1):
            span = all_tokens[index:index + length]
            if span[-1].sentence != span[0].sentence:
                continue
            entry = table.get(tuple(t.word for t in span))
            if entry is None:
                continue
            code, source = entry
            if not negated(all_tokens, index, index + length - 1):
                hit = hits.setdefault(code, {"start": span[0].start, "end": span[-1].end, "mentions": 0,
                                             "source": source, "length": length})
                hit["mentions"] += 1
                hit["length"] = max(hit["length"], length)
            index += length - 1
            break
        index += 1
    matches = []
    for code, hit in hits.items():
        score = (0.6 if hit["source"] == "synonym table" else 0.5) + 0.1 * min(hit["length"], 3)
        score += 0.05 * min(hit["mentions"] - 1, 4)
        matches.append(Match(code, icd10.description(code), round(min(score, 1.0), 2), hit["start"], hit["end"],
                             hit["mentions"], hit["source"]))
    matches.sort(key=lambda m: (-m.score, m.start))
    return matches[:MAX_SUGGESTIONS]
