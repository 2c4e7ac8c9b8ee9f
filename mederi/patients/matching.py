"""How people's names, phone numbers, dates of birth and addresses are compared.

Registration, the search box and the duplicate check all read what a person typed the same
way: names without case, accents or punctuation, with common nicknames mapped to the formal
name; phone numbers as their digits; dates of birth in the formats a front desk writes them.
Similarity is Jaro-Winkler, which forgives a typo or two in a short name more than it forgives
a different name.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from mederi.fhir.values import normalize_string

# Formal given names of common English nicknames (a fact table, not exhaustive).
_NICKNAMES = {
    "robert": ("bob", "bobby", "rob", "robbie", "bert"),
    "william": ("bill", "billy", "will", "willy", "liam"),
    "richard": ("dick", "rick", "ricky", "rich"),
    "james": ("jim", "jimmy", "jamie"),
    "john": ("jack", "johnny", "jon"),
    "joseph": ("joe", "joey"),
    "thomas": ("tom", "tommy"),
    "charles": ("charlie", "chuck", "chas"),
    "christopher": ("chris", "kit"),
    "daniel": ("dan", "danny"),
    "michael": ("mike", "mikey", "mick"),
    "edward": ("ed", "eddie", "ted", "ned"),
    "anthony": ("tony",),
    "andrew": ("andy", "drew"),
    "peter": ("pete",),
    "nicholas": ("nick", "nicky"),
    "samuel": ("sam", "sammy"),
    "benjamin": ("ben", "benny"),
    "matthew": ("matt",),
    "steven": ("steve", "stevie"),
    "stephen": ("steve",),
    "timothy": ("tim", "timmy"),
    "alexander": ("alex", "sasha"),
    "gregory": ("greg",),
    "jonathan": ("jon", "johnny"),
    "lawrence": ("larry",),
    "ronald": ("ron", "ronnie"),
    "donald": ("don", "donnie"),
    "kenneth": ("ken", "kenny"),
    "patrick": ("pat", "paddy"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "eliza", "libby"),
    "margaret": ("maggie", "meg", "peggy", "marge"),
    "katherine": ("kate", "kathy", "katie", "kat"),
    "catherine": ("cathy", "cat", "kate"),
    "jennifer": ("jen", "jenny"),
    "rebecca": ("becky", "becca"),
    "susan": ("sue", "susie"),
    "deborah": ("deb", "debbie"),
    "patricia": ("pat", "patty", "trish"),
    "barbara": ("barb", "babs"),
    "jessica": ("jess", "jessie"),
    "christine": ("chris", "chrissy", "tina"),
    "victoria": ("vicky", "tori"),
    "alexandra": ("alex", "sandra", "lexi"),
    "abigail": ("abby", "gail"),
    "dorothy": ("dot", "dottie"),
    "theresa": ("terry", "tess"),
    "samantha": ("sam", "sammy"),
    "pamela": ("pam",),
    "kimberly": ("kim",),
    "cynthia": ("cindy",),
    "maria": ("mary",),
}
_FORMAL: dict[str, str] = {}
for formal, nicknames in _NICKNAMES.items():
    for nickname in nicknames:
        _FORMAL.setdefault(nickname, formal)  # an ambiguous nickname keeps its first formal name

_NOT_LETTER = re.compile(r"[^a-z0-9 ]+")
_NOT_DIGIT = re.compile(r"\D")


# -- names -----------------------------------------------------------------------------------


def normalize_name(text: str | None) -> str:
    """'  O'Brien-Núñez ' -> 'obrien nunez': lower case, no accents, hyphens as spaces, no other marks."""
    if not text:
        return ""
    folded = normalize_string(text).replace("-", " ")
    return " ".join(_NOT_LETTER.sub("", folded).split())


def formal_given(text: str | None) -> str:
    """A normalised given name with a common nickname replaced by its formal name ('Bob' -> 'robert')."""
    name = normalize_name(text)
    first = name.split(" ", 1)[0] if name else ""
    return _FORMAL.get(first, first)


def jaro_winkler(a: str, b: str) -> float:
    """Similarity of two strings from 0 (nothing shared) to 1 (equal), favouring a shared beginning."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    window = max(max(len(a), len(b)) // 2 - 1, 0)
    a_matched = [False] * len(a)
    b_matched = [False] * len(b)
    matches = 0
    for i, char in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not b_matched[j] and b[j] == char:
                a_matched[i] = b_matched[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    a_chars = [c for c, m in zip(a, a_matched) if m]
    b_chars = [c for c, m in zip(b, b_matched) if m]
    transpositions = sum(x != y for x, y in zip(a_chars, b_chars)) / 2
    jaro = (matches / len(a) + matches / len(b) + (matches - transpositions) / matches) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4]):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


def name_similarity(a: str | None, b: str | None) -> float:
    """How alike two names are (0..1), after normalising; the best of whole names and first words."""
    left, right = normalize_name(a), normalize_name(b)
    if not left or not right:
        return 0.0
    whole = jaro_winkler(left.replace(" ", ""), right.replace(" ", ""))
    first = jaro_winkler(left.split(" ", 1)[0], right.split(" ", 1)[0])
    return max(whole, first)


def given_similarity(a: str | None, b: str | None) -> float:
    """Like `name_similarity`, but 'Bob' and 'Robert' count as the same given name."""
    if formal_given(a) and formal_given(a) == formal_given(b):
        return 1.0
    return name_similarity(a, b)


# -- phones ----------------------------------------------------------------------------------


def phone_digits(text: str | None) -> str:
    """The digits of a phone number, without the North American country code 1 of an 11-digit number."""
    digits = _NOT_DIGIT.sub("", text or "")
    if len(digits) == 11 and digits.startswith("1"):
        return digits[1:]
    return digits


def is_valid_phone(text: str) -> bool:
    """A 10-digit North American number (with or without +1), or an international +number of 8-15 digits."""
    stripped = text.strip()
    if not re.fullmatch(r"[\d\s().+\-]+", stripped):
        return False
    digits = _NOT_DIGIT.sub("", stripped)
    if stripped.startswith("+") and not stripped.startswith("+1"):
        return 8 <= len(digits) <= 15
    return len(phone_digits(stripped)) == 10


def format_phone(text: str) -> str:
    """The stored form of a phone number: 555-123-4567 for North American numbers, else as typed."""
    digits = phone_digits(text)
    if len(digits) == 10 and not (text.strip().startswith("+") and not text.strip().startswith("+1")):
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return " ".join(text.split())


def phone_variants(text: str) -> list[str]:
    """The ways a number may have been stored, to find it through the exact-match phone index."""
    digits = phone_digits(text)
    found = [digits]
    if len(digits) == 10:
        area, exchange, line = digits[:3], digits[3:6], digits[6:]
        found += [f"{area}-{exchange}-{line}", f"({area}) {exchange}-{line}", f"({area}){exchange}-{line}",
                  f"{area}.{exchange}.{line}", f"{area} {exchange} {line}", f"1-{area}-{exchange}-{line}",
                  f"+1{digits}", f"+1 {area}-{exchange}-{line}", f"+1 ({area}) {exchange}-{line}", f"1{digits}"]
    elif len(digits) == 7:
        found.append(f"{digits[:3]}-{digits[3:]}")
    stripped = text.strip()
    if stripped and stripped not in found:
        found.append(stripped)
    return list(dict.fromkeys(found))


# -- dates -----------------------------------------------------------------------------------

_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y", "%Y/%m/%d", "%d.%m.%Y", "%Y%m%d", "%m%d%Y")
_SHORT_YEAR_FORMATS = ("%m/%d/%y", "%m-%d-%y")


def parse_date(text: str | None, today: date | None = None) -> date | None:
    """A date as a front desk types it (1974-12-25, 12/25/1974, 12-25-1974, 12/25/74); None if it is none.

    A two-digit year is read as the most recent such year not after `today` (a birth date).
    """
    if not text:
        return None
    value = text.strip()
    if not re.fullmatch(r"[\d/.\-]{6,10}", value):
        return None
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    for pattern in _SHORT_YEAR_FORMATS:
        try:
            parsed = datetime.strptime(value, pattern).date()
        except ValueError:
            continue
        today = today or date.today()
        year = today.year // 100 * 100 + parsed.year % 100
        if year > today.year:
            year -= 100
        try:
            return parsed.replace(year=year)
        except ValueError:  # 29 February of a year that has none
            return None
    return None


def birth_date_similarity(a: str | None, b: str | None) -> float:
    """1 for the same date; 0.6 when day and month are swapped or one digit differs; 0 otherwise."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if len(a) != 10 or len(b) != 10:
        return 0.0
    if a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]:
        return 0.6
    if sum(x != y for x, y in zip(a, b)) == 1:
        return 0.6
    return 0.0


# -- addresses -------------------------------------------------------------------------------

_STREET_WORDS = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "drive": "dr", "lane": "ln", "boulevard": "blvd",
    "court": "ct", "place": "pl", "apartment": "apt", "suite": "ste", "north": "n", "south": "s", "east": "e",
    "west": "w", "highway": "hwy", "parkway": "pkwy", "circle": "cir", "terrace": "ter",
}


def normalize_address(line: str | None, postal_code: str | None = None) -> str:
    """'12 Elm Street, Apt. 4' -> '12 elm st apt 4', with the 5-digit ZIP appended when known."""
    words = [_STREET_WORDS.get(word, word) for word in normalize_name(line).split()]
    zip5 = _NOT_DIGIT.sub("", postal_code or "")[:5]
    return " ".join(words + ([zip5] if zip5 else []))


def address_similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return jaro_winkler(a, b)
