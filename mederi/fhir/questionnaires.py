"""A FHIR R4 Questionnaire as a web form, and its answers as response items: the patient's
pre-visit questionnaire (portal) and the clinician's note templates (clinical) both use it.

Three steps, none of which touches the database:
- `parse_questionnaire(resource)` turns the items into `Item`s, refusing (with `UnsupportedQuestionnaire`)
  what this form cannot ask, so the front desk hears about it when giving the link, not the patient;
- `read_answers(items, data)` reads a submitted form (anything with `get` and `getlist`): typed answers,
  the patient's input as typed (to show again), which items `enableWhen` turns on, and a message per
  question that needs one;
- `response_items(items, filled)` gives the `QuestionnaireResponse.item` array of the answers.

Supported item types: group, display, string, text, boolean, integer, decimal, date, choice and
open-choice (answerOption with valueCoding, valueString, valueInteger or valueDate), with `required`,
`repeats` (choices become checkboxes), `maxLength`, the minValue/maxValue extensions (integer, decimal,
date) and `enableWhen` (operators exists, =, !=, <, >, <=, >=; enableBehavior all or any). Answers are
cleaned before they are kept: control and private-use characters are dropped, a one-line answer stays on one line,
and surrounding spaces go.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from mederi.core.errors import InvalidRequest

MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"

QUESTION_TYPES = frozenset({"string", "text", "boolean", "integer", "decimal", "date", "choice", "open-choice"})
SUPPORTED_TYPES = QUESTION_TYPES | {"group", "display"}
CHOICE_TYPES = frozenset({"choice", "open-choice"})
OPTION_VALUES = ("valueCoding", "valueString", "valueInteger", "valueDate")
CONDITION_ANSWERS = ("answerBoolean", "answerInteger", "answerDecimal", "answerDate", "answerString", "answerCoding")
OPERATORS = frozenset({"exists", "=", "!=", "<", ">", "<=", ">="})

# Without a maxLength, answers are still kept to a size a person types into a form.
DEFAULT_MAX_LENGTH = {"string": 1000, "text": 10000, "open-choice": 1000}
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # FHIR integer
MAX_DECIMAL_DIGITS = 18
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2100, 12, 31)  # a year outside is a typo, unless min/max say
OTHER_SUFFIX = "~other"  # the form field of an open-choice question's own answer

_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


class UnsupportedQuestionnaire(InvalidRequest):
    """The questionnaire has items this form cannot ask; the message names every one."""


# -- the questionnaire ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    key: str  # what the form submits: the option's position, from 1
    label: str
    answer: dict  # the FHIR answer, e.g. {"valueCoding": {...}}
    selected: bool = False  # answerOption.initialSelected


@dataclass(frozen=True)
class Condition:
    question: str  # linkId of the item the condition looks at
    operator: str
    answer: dict  # {"answerBoolean": true} etc.


@dataclass
class Item:
    link_id: str
    type: str
    text: str = ""
    prefix: str = ""
    required: bool = False
    repeats: bool = False
    max_length: int | None = None
    min_value: object = None  # int, Decimal or date, by item type
    max_value: object = None
    options: list[Option] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    behavior: str = "all"  # enableBehavior
    read_only: bool = False  # readOnly: shown with its value, never read from the form (a computed score)
    children: list[Item] = field(default_factory=list)

    @property
    def is_question(self) -> bool:
        return self.type in QUESTION_TYPES

    @property
    def label(self) -> str:
        return " ".join(part for part in (self.prefix, self.text) if part) or self.link_id

    @property
    def length_limit(self) -> int | None:
        return self.max_length or DEFAULT_MAX_LENGTH.get(self.type)

    def option(self, key: str) -> Option | None:
        return next((o for o in self.options if o.key == key), None)


def walk(items: list[Item]):
    """Every item, parents before their children, in questionnaire order."""
    for item in items:
        yield item
        yield from walk(item.children)


def parse_questionnaire(resource: dict) -> list[Item]:
    """The items of a Questionnaire; raises UnsupportedQuestionnaire naming every problem."""
    problems: list[str] = []
    items = [_parse_item(raw, problems) for raw in resource.get("item") or []]
    by_id: dict[str, Item] = {}
    for item in walk(items):
        if item.link_id in by_id:
            problems.append(f"the linkId '{item.link_id}' is used by two items")
        by_id[item.link_id] = item
    for item in walk(items):
        for condition in item.conditions:
            target = by_id.get(condition.question)
            if target is None or not target.is_question:
                problems.append(f"item '{item.link_id}' is shown depending on '{condition.question}', "
                                "which is not a question of this questionnaire")
    if not any(item.is_question for item in walk(items)) and not problems:
        problems.append("the questionnaire has no questions")
    if problems:
        name = resource.get("title") or resource.get("name") or resource.get("id") or "the questionnaire"
        raise UnsupportedQuestionnaire.single(f"{name} cannot be filled in online: {'; '.join(problems)}",
                                              code="not-supported", status=422)
    return items


def _parse_item(raw: dict, problems: list[str]) -> Item:
    link_id = str(raw.get("linkId") or "")
    kind = raw.get("type")
    where = f"item '{link_id}'"
    if kind not in SUPPORTED_TYPES:
        problems.append(f"{where} is of type '{kind}', which this form cannot ask")
    item = Item(link_id=link_id, type=kind or "display", text=str(raw.get("text") or ""),
                prefix=str(raw.get("prefix") or ""), required=raw.get("required") is True,
                repeats=raw.get("repeats") is True, max_length=_positive(raw.get("maxLength")),
                behavior=raw.get("enableBehavior") or "all", read_only=raw.get("readOnly") is True)
    if kind in CHOICE_TYPES:
        for position, option in enumerate(raw.get("answerOption") or [], start=1):
            found = [(key, option[key]) for key in OPTION_VALUES if key in option]
            if not found:
                problems.append(f"{where} has an answer option of a kind this form cannot show")
                continue
            key, value = found[0]
            item.options.append(Option(str(position), _option_label(key, value), {key: value},
                                       option.get("initialSelected") is True))
        if not item.options and kind == "choice":
            problems.append(f"{where} is a choice without answer options (value sets are not supported)")
    if kind in ("integer", "decimal", "date"):
        for url, attribute in ((MIN_VALUE, "min_value"), (MAX_VALUE, "max_value")):
            limit = _extension_limit(raw, url, kind)
            if limit is not None:
                setattr(item, attribute, limit)
    for condition in raw.get("enableWhen") or []:
        operator = condition.get("operator")
        answers = [key for key in CONDITION_ANSWERS if key in condition]
        if operator not in OPERATORS or not answers:
            problems.append(f"{where} has a display condition this form cannot evaluate")
            continue
        item.conditions.append(Condition(str(condition.get("question") or ""), operator,
                                         {answers[0]: condition[answers[0]]}))
    for child in raw.get("item") or []:
        if kind != "group":
            problems.append(f"{where} has items nested under it; only a group can hold items here")
            break
        item.children.append(_parse_item(child, problems))
    return item


def _positive(value) -> int | None:
    return value if type(value) is int and value > 0 else None


def _option_label(key: str, value) -> str:
    if key == "valueCoding":
        return str(value.get("display") or value.get("code") or "")
    return str(value)


def _extension_limit(raw: dict, url: str, kind: str):
    for extension in raw.get("extension") or []:
        if extension.get("url") != url:
            continue
        for key, value in extension.items():
            if key == "valueInteger" and kind in ("integer", "decimal"):
                return int(value) if kind == "integer" else Decimal(value)
            if key == "valueDecimal" and kind == "decimal":
                return Decimal(str(value))
            if key == "valueDate" and kind == "date":
                try:
                    return date.fromisoformat(value)
                except (TypeError, ValueError):
                    return None
    return None


# -- reading a submitted form --------------------------------------------------------------------


@dataclass
class Filled:
    """A submitted form: what was typed, what it means, what is switched on, and what is wrong."""

    typed: dict[str, str] = field(default_factory=dict)  # text-like questions: the input as typed
    other: dict[str, str] = field(default_factory=dict)  # open-choice: the patient's own answer as typed
    chosen: dict[str, list[str]] = field(default_factory=dict)  # boolean and choice: submitted keys
    answers: dict[str, list[dict]] = field(default_factory=dict)  # FHIR answers of enabled questions
    enabled: dict[str, bool] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


def empty_form(items: list[Item]) -> Filled:
    """A form before the patient has typed anything (options marked initialSelected are chosen)."""
    filled = Filled()
    for item in walk(items):
        if item.options:
            filled.chosen[item.link_id] = [o.key for o in item.options if o.selected]
    return filled


def read_answers(items: list[Item], data) -> Filled:
    """Read, check and type every answer of `data` (a QueryDict or anything with get/getlist)."""
    filled = Filled()
    found: dict[str, list[dict]] = {}
    problems: dict[str, str] = {}
    for item in walk(items):
        if item.is_question and not item.read_only:
            answers, problem = _read_question(item, data, filled)
            found[item.link_id] = answers
            if problem:
                problems[item.link_id] = problem
    tree = _Tree(items)
    _decide_enabled(tree, items, found, filled.enabled, parent_on=True)
    for item in walk(items):
        if not filled.enabled.get(item.link_id):
            continue  # a question that does not apply: its answers and their problems are dropped
        if item.is_question and not item.read_only:
            if item.link_id in problems:
                filled.errors[item.link_id] = problems[item.link_id]
                continue
            filled.answers[item.link_id] = found[item.link_id]
            if item.required and not found[item.link_id]:
                filled.errors[item.link_id] = ("Please choose an answer." if item.type in ("boolean", *CHOICE_TYPES)
                                               else "Please answer this question.")
        elif item.type == "group" and item.required and not _answered_within(item, found, problems, filled.enabled):
            filled.errors[item.link_id] = "Please answer at least one question in this section."
    return filled


def _answered_within(group: Item, found: dict, problems: dict, enabled: dict) -> bool:
    """Some question of the group was answered (an answer with a problem has its own message)."""
    return any(found.get(child.link_id) or child.link_id in problems
               for child in walk(group.children) if enabled.get(child.link_id))


def clean_text(value: str, *, one_line: bool) -> str:
    """What a person meant: no control characters, one line when asked, no surrounding spaces."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    kept = []
    for ch in value:
        if ch in "\n\t":
            kept.append(" " if one_line else ch)
        elif unicodedata.category(ch) not in ("Cc", "Cs", "Cn", "Co"):  # private-use characters mean nothing
            kept.append(ch)
    return "".join(kept).strip()


def _read_question(item: Item, data, filled: Filled) -> tuple[list[dict], str | None]:
    """(answers, a message when the input is wrong) of one question."""
    name = item.link_id
    if item.type == "boolean":
        chosen = [v for v in data.getlist(name) if v]
        filled.chosen[name] = chosen
        if not chosen:
            return [], None
        if len(chosen) > 1 or chosen[0] not in ("true", "false"):
            return [], "Choose Yes or No."
        return [{"valueBoolean": chosen[0] == "true"}], None
    if item.type in CHOICE_TYPES:
        return _read_choice(item, data, filled)
    raw = data.get(name) or ""
    raw = raw if isinstance(raw, str) else str(raw)
    filled.typed[name] = raw
    text = clean_text(raw, one_line=item.type != "text")
    if not text:
        return [], None
    if item.type in ("string", "text"):
        limit = item.length_limit
        if limit and len(text) > limit:
            return [], f"Please keep your answer to {limit} characters or fewer (it has {len(text)})."
        return [{"valueString": text}], None
    if item.type == "integer":
        return _read_integer(item, text)
    if item.type == "decimal":
        return _read_decimal(item, text)
    return _read_date(item, text)


def _read_choice(item: Item, data, filled: Filled) -> tuple[list[dict], str | None]:
    name = item.link_id
    chosen = [v for v in data.getlist(name) if v]
    filled.chosen[name] = chosen
    answers = []
    for key in chosen:
        option = item.option(key)
        if option is None:
            return [], "Choose one of the answers listed."
        if option.answer not in answers:
            answers.append(option.answer)
    if item.type == "open-choice":
        raw = data.get(name + OTHER_SUFFIX) or ""
        filled.other[name] = raw
        own = clean_text(raw, one_line=True)
        if own:
            limit = item.length_limit
            if limit and len(own) > limit:
                return [], f"Please keep your own answer to {limit} characters or fewer (it has {len(own)})."
            answers.append({"valueString": own})
    if len(answers) > 1 and not item.repeats:
        if item.type == "open-choice":
            return [], "Choose one answer, or type your own, not both."
        return [], "Choose only one answer."
    return answers, None


def _range_problem(item: Item, value, show) -> str | None:
    low, high = item.min_value, item.max_value
    if low is not None and high is not None and not low <= value <= high:
        return f"Enter a value from {show(low)} to {show(high)}."
    if low is not None and value < low:
        return f"Enter a value of {show(low)} or more."
    if high is not None and value > high:
        return f"Enter a value of {show(high)} or less."
    return None


def _read_integer(item: Item, text: str) -> tuple[list[dict], str | None]:
    compact = text.replace(",", "")
    if not _INTEGER.fullmatch(compact) or len(compact) > 12:
        return [], "Enter a whole number, for example 3."
    value = int(compact)
    if not INT_MIN <= value <= INT_MAX:
        return [], "That number is too large."
    problem = _range_problem(item, value, str)
    return ([], problem) if problem else ([{"valueInteger": value}], None)


def _read_decimal(item: Item, text: str) -> tuple[list[dict], str | None]:
    compact = text.replace(",", "")
    digits = sum(ch.isdigit() for ch in compact)
    if not _DECIMAL.fullmatch(compact) or digits > MAX_DECIMAL_DIGITS:
        return [], "Enter a number, for example 98.6."
    try:
        value = Decimal(compact)
    except InvalidOperation:
        return [], "Enter a number, for example 98.6."
    if compact.endswith("."):  # "12." means 12
        value = Decimal(compact[:-1] or "0")
    problem = _range_problem(item, value, lambda d: format(d, "f"))
    return ([], problem) if problem else ([{"valueDecimal": value}], None)


def parse_date(text: str) -> date | None:
    """2026-03-14 (what date inputs send) or 3/14/2026 (what people type); None otherwise."""
    match = _ISO_DATE.fullmatch(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _US_DATE.fullmatch(text)
        if not match:
            return None
        month, day, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _read_date(item: Item, text: str) -> tuple[list[dict], str | None]:
    value = parse_date(text)
    if value is None:
        return [], "Enter a date like 2026-03-14 (year-month-day)."
    low = item.min_value if item.min_value is not None else EARLIEST_DATE
    high = item.max_value if item.max_value is not None else LATEST_DATE
    if not low <= value <= high:
        return [], f"Enter a date between {low.isoformat()} and {high.isoformat()}."
    return [{"valueDate": value.isoformat()}], None


# -- enableWhen -----------------------------------------------------------------------------------


class _Tree:
    """The items of a questionnaire by linkId, with their parents: what enableWhen needs."""

    def __init__(self, items: list[Item]):
        self.items = items
        self.by_id: dict[str, Item] = {}
        self.parent: dict[str, Item | None] = {}
        for item in items:
            self._add(item, None)

    def _add(self, item: Item, parent: Item | None) -> None:
        self.by_id[item.link_id] = item
        self.parent[item.link_id] = parent
        for child in item.children:
            self._add(child, item)


def _decide_enabled(tree: _Tree, items: list[Item], found: dict, enabled: dict, parent_on: bool) -> None:
    """Mark every item on or off. A condition looking at an item that is off sees no answer."""
    for item in items:
        enabled[item.link_id] = parent_on and _conditions_hold(tree, item, found, frozenset())
        _decide_enabled(tree, item.children, found, enabled, enabled[item.link_id])


def _is_on(tree: _Tree, item: Item, found: dict, seen: frozenset[str]) -> bool:
    """Whether an item is on, looking up through its parents (for the targets of conditions)."""
    if item.link_id in seen:  # conditions that loop switch their items off rather than recurse forever
        return False
    seen = seen | {item.link_id}
    parent = tree.parent.get(item.link_id)
    if parent is not None and not _is_on(tree, parent, found, seen):
        return False
    return _conditions_hold(tree, item, found, seen)


def _conditions_hold(tree: _Tree, item: Item, found: dict, seen: frozenset[str]) -> bool:
    if not item.conditions:
        return True
    results = []
    for condition in item.conditions:
        target = tree.by_id[condition.question]
        answers = found.get(target.link_id, []) if _is_on(tree, target, found, seen | {item.link_id}) else []
        results.append(condition_holds(condition, answers))
    return any(results) if item.behavior == "any" else all(results)


def _comparable(value: dict):
    """A FHIR answer (valueX) or condition answer (answerX) as a value that compares with its kind."""
    (key, raw), = value.items()
    kind = key.removeprefix("value").removeprefix("answer")
    if kind == "Coding":
        return ("coding", raw.get("system"), raw.get("code"))
    if kind in ("Integer", "Decimal"):
        return ("number", Decimal(str(raw)))
    if kind == "Date":
        return ("date", str(raw))
    if kind == "Boolean":
        return ("boolean", bool(raw))
    return ("string", str(raw))


def _equal(left, right) -> bool:
    if left[0] == right[0] == "coding":
        same_system = left[1] is None or right[1] is None or left[1] == right[1]
        return same_system and left[2] == right[2]
    return left == right


def condition_holds(condition: Condition, answers: list[dict]) -> bool:
    """FHIR R4 rules: `exists` asks whether there is an answer; `!=` holds when no answer equals;
    every other operator needs an answer and holds when one of them matches."""
    wanted = _comparable(condition.answer)
    if condition.operator == "exists":
        return bool(answers) == bool(wanted[1])
    if not answers:
        return False
    values = [_comparable(a) for a in answers]
    if condition.operator == "=":
        return any(_equal(v, wanted) for v in values)
    if condition.operator == "!=":
        return not any(_equal(v, wanted) for v in values)
    ordered = [v for v in values if v[0] == wanted[0] and v[0] in ("number", "date", "string")]
    compare = {"<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
               ">=": lambda a, b: a >= b}[condition.operator]
    return any(compare(v[1], wanted[1]) for v in ordered)


def client_conditions(item: Item, by_id: dict[str, Item]) -> str:
    """The item's conditions as JSON for the page's script, or "" when the script cannot judge them
    (the server still does, after the form is sent). Each names the field, operator and the
    submitted values that count as the condition's answer."""
    if not item.conditions:
        return ""
    rules = []
    for condition in item.conditions:
        target = by_id[condition.question]
        if condition.operator not in ("exists", "=", "!="):
            return ""
        if condition.operator == "exists":
            rules.append({"name": target.link_id, "op": "exists", "on": bool(_comparable(condition.answer)[1])})
            continue
        if target.type == "boolean" and "answerBoolean" in condition.answer:
            values = ["true" if condition.answer["answerBoolean"] else "false"]
        elif target.type == "choice":
            wanted = _comparable(condition.answer)
            values = [o.key for o in target.options if _equal(_comparable(o.answer), wanted)]
        else:
            return ""
        rules.append({"name": target.link_id, "op": condition.operator, "values": values})
    return json.dumps({"behavior": item.behavior, "rules": rules}, separators=(",", ":"))


def condition_hint(item: Item, by_id: dict[str, Item]) -> str:
    """Words telling a patient (without the script) when a question applies."""
    if len(item.conditions) != 1:
        return "Answer only if it applies to you."
    condition = item.conditions[0]
    target = by_id[condition.question]
    if condition.operator == "exists":
        return f"Answer only if you answered “{target.label}”."
    if condition.operator != "=":
        return "Answer only if it applies to you."
    wanted = _comparable(condition.answer)
    if wanted[0] == "boolean":
        said = "Yes" if wanted[1] else "No"
    else:
        said = next((o.label for o in target.options if _equal(_comparable(o.answer), wanted)), str(wanted[-1]))
    return f"Answer only if you answered “{said}” to “{target.label}”."


# -- the response --------------------------------------------------------------------------------


def response_items(items: list[Item], filled: Filled) -> list[dict]:
    """QuestionnaireResponse.item for the answers: same linkIds and nesting, unanswered items left out."""
    out = []
    for item in items:
        if not filled.enabled.get(item.link_id):
            continue
        if item.type == "group":
            children = response_items(item.children, filled)
            if children:
                out.append(_with_text({"linkId": item.link_id}, item) | {"item": children})
        elif item.is_question and filled.answers.get(item.link_id):
            out.append(_with_text({"linkId": item.link_id}, item) | {"answer": filled.answers[item.link_id]})
    return out


def _with_text(entry: dict, item: Item) -> dict:
    if item.text:
        entry["text"] = item.text
    return entry


# -- the page ------------------------------------------------------------------------------------


@dataclass
class Field:
    """One item as the page shows it: what to draw, what the patient typed or chose, and any message."""

    item: Item
    dom_id: str
    widget: str  # group, display, textarea, line, number, date, radio, checkbox
    value: str = ""
    other: str = ""
    chosen: tuple[str, ...] = ()
    choices: tuple[tuple[str, str], ...] = ()  # (submitted value, label)
    error: str = ""
    hint: str = ""
    when: str = ""  # conditions for the page's script (JSON), "" when always shown there
    children: list[Field] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.item.link_id

    @property
    def other_name(self) -> str:
        return self.item.link_id + OTHER_SUFFIX

    @property
    def grouped(self) -> bool:
        """Shown as a fieldset with a legend (several inputs answer it)."""
        return self.widget in ("group", "radio", "checkbox")

    @property
    def range_note(self) -> str:
        """"From 0 to 10." for a number with both limits (dates have the browser's own picker)."""
        low, high = self.item.min_value, self.item.max_value
        if self.widget != "number" or low is None or high is None:
            return ""
        return f"From {low} to {high}."

    @property
    def described_by(self) -> str:
        ids = [f"{self.dom_id}-hint"] if self.hint else []
        ids += [f"{self.dom_id}-range"] if self.range_note else []
        return " ".join(ids + ([f"{self.dom_id}-error"] if self.error else []))


def fields(items: list[Item], filled: Filled) -> list[Field]:
    """The page's fields in questionnaire order, with the patient's input and the messages."""
    tree = _Tree(items)
    counter = iter(range(1, 1_000_000))
    return [_field(item, filled, tree, counter) for item in items]


def _widget(item: Item) -> str:
    if item.type in CHOICE_TYPES:
        return "checkbox" if item.repeats else "radio"
    return {"group": "group", "display": "display", "text": "textarea", "string": "line", "integer": "number",
            "decimal": "number", "date": "date", "boolean": "radio"}[item.type]


def _field(item: Item, filled: Filled, tree: _Tree, counter) -> Field:
    name = item.link_id
    choices: tuple[tuple[str, str], ...] = ()
    if item.type == "boolean":
        choices = (("true", "Yes"), ("false", "No"))
    elif item.type in CHOICE_TYPES:
        choices = tuple((o.key, o.label) for o in item.options)
    view = Field(item=item, dom_id=f"q-{next(counter)}", widget=_widget(item), value=filled.typed.get(name, ""),
                 other=filled.other.get(name, ""), chosen=tuple(filled.chosen.get(name, ())), choices=choices,
                 error=filled.errors.get(name, ""),
                 hint=condition_hint(item, tree.by_id) if item.conditions else "",
                 when=client_conditions(item, tree.by_id))
    view.children = [_field(child, filled, tree, counter) for child in item.children]
    return view


def error_summary(page_fields: list[Field]) -> list[tuple[str, str, str]]:
    """(dom id, question, message) of every problem, in page order: the list at the top of the form."""
    out = []
    for view in _walk_fields(page_fields):
        if view.error:
            out.append((view.dom_id, view.item.label, view.error))
    return out


def _walk_fields(page_fields: list[Field]):
    for view in page_fields:
        yield view
        yield from _walk_fields(view.children)


def filled_from_answers(items: list[Item], answers: dict[str, list[dict]]) -> Filled:
    """A form showing stored answers again ({linkId: FHIR answers}), e.g. a draft reopened."""
    filled = empty_form(items)
    for item in walk(items):
        given = answers.get(item.link_id) or []
        if not given or not item.is_question:
            continue
        filled.answers[item.link_id] = given
        if item.type == "boolean":
            filled.chosen[item.link_id] = ["true" if given[0].get("valueBoolean") else "false"]
        elif item.type in CHOICE_TYPES:
            filled.chosen[item.link_id] = [o.key for o in item.options if o.answer in given
                                           or _option_matches(o, given)]
            own = [a["valueString"] for a in given if "valueString" in a
                   and not any(o.answer == a for o in item.options)]
            if own and item.type == "open-choice":
                filled.other[item.link_id] = own[0]
        else:
            (value,) = given[0].values()
            filled.typed[item.link_id] = str(value)
    return filled


def _option_matches(option: Option, given: list[dict]) -> bool:
    wanted = _comparable(option.answer)
    return any(_equal(_comparable(a), wanted) for a in given)
