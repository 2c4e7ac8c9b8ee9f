"""The questionnaire as a form: which items it can ask, how answers are read and checked, which
questions enableWhen switches on, and what goes into the response. No database involved."""

from __future__ import annotations

import pytest
from django.utils.datastructures import MultiValueDict
from hypothesis import given, settings
from hypothesis import strategies as st

from mederi.fhir import questionnaires as q
from mederi.fhir import validation
from mederi.portal.demo import PREVISIT_QUESTIONNAIRE
from mederi.portal.records import questionnaire_response

SNOMED = "http://snomed.info/sct"


def form(**values) -> MultiValueDict:
    """Form data as a browser sends it; a list gives several values (checkboxes)."""
    return MultiValueDict({k.replace("_", "-"): v if isinstance(v, list) else [v] for k, v in values.items()})


def previsit():
    return q.parse_questionnaire(PREVISIT_QUESTIONNAIRE)


def every_kind() -> dict:
    return {"resourceType": "Questionnaire", "status": "active", "title": "Every kind", "item": [
        {"linkId": "intro", "type": "display", "text": "Welcome"},
        {"linkId": "about", "type": "group", "text": "About you", "required": True, "item": [
            {"linkId": "nick", "type": "string", "text": "Nickname", "maxLength": 5},
            {"linkId": "weight", "type": "decimal", "text": "Weight (kg)",
             "extension": [{"url": q.MIN_VALUE, "valueDecimal": 0.5}, {"url": q.MAX_VALUE, "valueInteger": 400}]},
        ]},
        {"linkId": "colours", "type": "choice", "repeats": True, "text": "Colours", "answerOption": [
            {"valueString": "red"}, {"valueString": "green", "initialSelected": True}, {"valueInteger": 3}]},
        {"linkId": "pet", "type": "open-choice", "text": "Pet", "answerOption": [
            {"valueCoding": {"system": SNOMED, "code": "448169003", "display": "Cat"}}]},
        {"linkId": "visit-day", "type": "date", "text": "Day",
         "extension": [{"url": q.MIN_VALUE, "valueDate": "2026-01-01"}]},
    ]}


# -- what can be asked ---------------------------------------------------------------------------


def test_the_demo_questionnaire_is_parsed_into_its_questions():
    items = previsit()
    assert [(i.link_id, i.type, i.required) for i in items] == [
        ("reason", "text", True), ("symptoms-start", "date", False), ("pain", "integer", False),
        ("new-medications", "boolean", False), ("new-medications-which", "text", True),
        ("allergies-changed", "boolean", False), ("smoking", "choice", False), ("anything-else", "text", False)]
    pain = items[2]
    assert (pain.min_value, pain.max_value) == (0, 10)
    assert [o.label for o in items[6].options] == ["Never smoked", "Used to smoke", "Smoke now"]


def test_items_the_form_cannot_ask_are_refused_with_every_reason():
    resource = {"resourceType": "Questionnaire", "title": "Intake", "item": [
        {"linkId": "photo", "type": "attachment", "text": "Photo"},
        {"linkId": "drug", "type": "choice", "text": "Drug", "answerValueSet": "http://example.org/vs"},
        {"linkId": "dose", "type": "string", "text": "Dose",
         "enableWhen": [{"question": "nowhere", "operator": "=", "answerString": "x"}]},
        {"linkId": "dose", "type": "string", "text": "Again"},
    ]}
    with pytest.raises(q.UnsupportedQuestionnaire) as caught:
        q.parse_questionnaire(resource)
    text = str(caught.value)
    assert "Intake cannot be filled in online" in text
    assert "'photo' is of type 'attachment'" in text
    assert "'drug' is a choice without answer options" in text
    assert "'nowhere', which is not a question" in text
    assert "linkId 'dose' is used by two items" in text


def test_a_questionnaire_without_questions_is_refused():
    with pytest.raises(q.UnsupportedQuestionnaire, match="no questions"):
        q.parse_questionnaire({"resourceType": "Questionnaire", "item": [{"linkId": "a", "type": "display",
                                                                          "text": "Hi"}]})


# -- reading answers -----------------------------------------------------------------------------


def test_answers_of_every_kind_become_fhir_answers():
    items = q.parse_questionnaire(every_kind())
    filled = q.read_answers(items, form(nick="  Bo ", weight="72.50", colours=["1", "3"], pet="1",
                                        visit_day="3/14/2026"))
    assert filled.valid, filled.errors
    assert q.response_items(items, filled) == [
        {"linkId": "about", "text": "About you", "item": [
            {"linkId": "nick", "text": "Nickname", "answer": [{"valueString": "Bo"}]},
            {"linkId": "weight", "text": "Weight (kg)", "answer": [{"valueDecimal": q.Decimal("72.50")}]}]},
        {"linkId": "colours", "text": "Colours", "answer": [{"valueString": "red"}, {"valueInteger": 3}]},
        {"linkId": "pet", "text": "Pet", "answer": [
            {"valueCoding": {"system": SNOMED, "code": "448169003", "display": "Cat"}}]},
        {"linkId": "visit-day", "text": "Day", "answer": [{"valueDate": "2026-03-14"}]},
    ]


def test_an_open_choice_takes_the_patients_own_words():
    items = q.parse_questionnaire(every_kind())
    filled = q.read_answers(items, form(nick="Bo", **{"pet~other": "A tortoise"}))
    assert filled.answers["pet"] == [{"valueString": "A tortoise"}]
    both = q.read_answers(items, form(nick="Bo", pet="1", **{"pet~other": "A tortoise"}))
    assert both.errors == {"pet": "Choose one answer, or type your own, not both."}


@pytest.mark.parametrize("field, typed, message", [
    ("nick", "Robert", "Please keep your answer to 5 characters or fewer (it has 6)."),
    ("weight", "heavy", "Enter a number, for example 98.6."),
    ("weight", "0.1", "Enter a value from 0.5 to 400."),
    ("weight", "1e5", "Enter a number, for example 98.6."),
    ("visit_day", "2026-02-30", "Enter a date like 2026-03-14 (year-month-day)."),
    ("visit_day", "2025-12-31", "Enter a date between 2026-01-01 and 2100-12-31."),
    ("colours", "9", "Choose one of the answers listed."),
    ("pet", ["1", "1", "2"], "Choose one of the answers listed."),
])
def test_wrong_answers_get_a_message_at_their_question_and_keep_what_was_typed(field, typed, message):
    items = q.parse_questionnaire(every_kind())
    filled = q.read_answers(items, form(**{"nick": "Bo", field: typed}))
    link_id = field.replace("_", "-")
    assert filled.errors == {link_id: message}
    if isinstance(typed, str) and field in ("nick", "weight", "visit_day"):
        assert filled.typed[link_id] == typed
    assert link_id not in filled.answers


@pytest.mark.parametrize("typed, message", [
    ("11", "Enter a value from 0 to 10."),
    ("-1", "Enter a value from 0 to 10."),
    ("2.5", "Enter a whole number, for example 3."),
    ("seven", "Enter a whole number, for example 3."),
    ("99999999999", "That number is too large."),
])
def test_integers_must_be_whole_numbers_within_the_questions_range(typed, message):
    filled = q.read_answers(previsit(), form(reason="Cough", pain=typed))
    assert filled.errors == {"pain": message}


def test_required_questions_and_required_groups_need_an_answer():
    filled = q.read_answers(previsit(), form(reason="   ", pain="3"))
    assert filled.errors == {"reason": "Please answer this question."}
    grouped = q.read_answers(q.parse_questionnaire(every_kind()), form())
    assert grouped.errors == {"about": "Please answer at least one question in this section."}


def test_a_single_choice_takes_one_answer_and_a_boolean_only_yes_or_no():
    items = previsit()
    assert q.read_answers(items, form(reason="x", smoking=["1", "2"])).errors == {"smoking": "Choose only one answer."}
    assert q.read_answers(items, form(reason="x", allergies_changed="maybe")).errors == {
        "allergies-changed": "Choose Yes or No."}


def test_control_characters_are_dropped_and_a_one_line_answer_stays_on_one_line():
    assert q.clean_text(" a\x00b\x0bc\r\nd\te\x7f ", one_line=False) == "abc\nd\te"
    assert q.clean_text("first\r\nsecond", one_line=True) == "first second"


def test_the_page_starts_with_the_options_marked_initially_selected():
    items = q.parse_questionnaire(every_kind())
    page = q.fields(items, q.empty_form(items))
    colours = page[2]
    assert (colours.widget, colours.chosen) == ("checkbox", ("2",))
    assert [(f.dom_id, f.widget) for f in page[1].children] == [("q-3", "line"), ("q-4", "number")]


# -- enableWhen -----------------------------------------------------------------------------------


def test_a_follow_up_question_applies_only_after_yes():
    items = previsit()
    said_no = q.read_answers(items, form(reason="Check-up", new_medications="false",
                                         new_medications_which="left over from before"))
    assert said_no.valid
    assert not said_no.enabled["new-medications-which"]
    assert "new-medications-which" not in {i["linkId"] for i in q.response_items(items, said_no)}

    said_yes = q.read_answers(items, form(reason="Check-up", new_medications="true"))
    assert said_yes.errors == {"new-medications-which": "Please answer this question."}

    answered = q.read_answers(items, form(reason="Check-up", new_medications="true",
                                          new_medications_which="Ibuprofen 200 mg"))
    assert answered.answers["new-medications-which"] == [{"valueString": "Ibuprofen 200 mg"}]


def test_a_wrong_answer_to_a_question_that_does_not_apply_is_not_held_against_the_patient():
    filled = q.read_answers(previsit(), form(reason="x", new_medications="false", new_medications_which="\x00" * 3))
    assert filled.valid


def _conditional(operator: str, answer: dict, behavior: str = "all", extra=()) -> list[q.Item]:
    return q.parse_questionnaire({"resourceType": "Questionnaire", "item": [
        {"linkId": "n", "type": "integer", "text": "How many"},
        {"linkId": "c", "type": "choice", "text": "Which", "repeats": True, "answerOption": [
            {"valueCoding": {"system": SNOMED, "code": "1", "display": "One"}},
            {"valueCoding": {"system": SNOMED, "code": "2", "display": "Two"}}]},
        {"linkId": "then", "type": "string", "text": "Then", "enableBehavior": behavior,
         "enableWhen": [{"question": answer.pop("question", "n"), "operator": operator, **answer}, *extra]},
    ]})


@pytest.mark.parametrize("operator, answer, data, applies", [
    ("exists", {"answerBoolean": True}, {"n": "2"}, True),
    ("exists", {"answerBoolean": True}, {}, False),
    ("exists", {"answerBoolean": False}, {}, True),
    (">", {"answerInteger": 3}, {"n": "4"}, True),
    (">", {"answerInteger": 3}, {"n": "3"}, False),
    ("<=", {"answerDecimal": 3.5}, {"n": "3"}, True),
    ("!=", {"answerInteger": 3}, {"n": "4"}, True),
    ("!=", {"answerInteger": 3}, {}, False),
    ("=", {"question": "c", "answerCoding": {"code": "2"}}, {"c": ["1", "2"]}, True),
    ("!=", {"question": "c", "answerCoding": {"system": SNOMED, "code": "2"}}, {"c": ["1", "2"]}, False),
    ("!=", {"question": "c", "answerCoding": {"system": SNOMED, "code": "2"}}, {"c": ["1"]}, True),
])
def test_enable_when_operators_follow_the_r4_rules(operator, answer, data, applies):
    items = _conditional(operator, dict(answer))
    assert q.read_answers(items, form(**data)).enabled["then"] is applies


def test_enable_behavior_any_needs_one_condition_and_all_needs_every_one():
    extra = [{"question": "c", "operator": "exists", "answerBoolean": True}]
    data = form(n="5")
    assert q.read_answers(_conditional("=", {"answerInteger": 5}, "any", extra), data).enabled["then"]
    assert not q.read_answers(_conditional("=", {"answerInteger": 5}, "all", extra), data).enabled["then"]


def test_the_page_script_gets_the_conditions_it_can_judge_and_a_hint_for_everyone():
    items = previsit()
    page = q.fields(items, q.empty_form(items))
    which = page[4]
    assert which.hint == "Answer only if you answered “Yes” to “Have you started any new medicines since your last visit?”."
    assert which.when == '{"behavior":"all","rules":[{"name":"new-medications","op":"=","values":["true"]}]}'
    assert page[3].when == ""
    numeric = _conditional(">", {"answerInteger": 3})
    assert q.fields(numeric, q.empty_form(numeric))[2].when == ""  # judged by the server when sent


def test_conditions_that_loop_switch_their_items_off_instead_of_hanging():
    items = q.parse_questionnaire({"resourceType": "Questionnaire", "item": [
        {"linkId": "a", "type": "string", "text": "A",
         "enableWhen": [{"question": "b", "operator": "exists", "answerBoolean": True}]},
        {"linkId": "b", "type": "string", "text": "B",
         "enableWhen": [{"question": "a", "operator": "exists", "answerBoolean": True}]},
    ]})
    filled = q.read_answers(items, form(a="x", b="y"))
    assert filled.enabled == {"a": False, "b": False}


# -- any text a patient might type -----------------------------------------------------------------

typed_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)


@settings(max_examples=200, deadline=None)
@given(reason=typed_text, pain=typed_text, started=typed_text, which=typed_text, smoking=typed_text)
def test_any_typed_answers_give_messages_or_a_valid_response_never_a_crash(reason, pain, started, which, smoking):
    items = previsit()
    filled = q.read_answers(items, form(reason=reason, pain=pain, symptoms_start=started, new_medications="true",
                                        new_medications_which=which, smoking=smoking))
    if not filled.valid:
        assert all(message.endswith(".") for message in filled.errors.values())
        return
    response = questionnaire_response(questionnaire=PREVISIT_QUESTIONNAIRE, patient_id="p1", appointment_id="a1",
                                      items=q.response_items(items, filled))
    assert validation.validate_resource(response) == []
    for item in response.get("item", []):
        for answer in item["answer"]:
            text = answer.get("valueString")
            if text is not None:  # what is kept is what was typed, less invisible characters and outer spaces
                assert text == text.strip() and text
                assert all(ch in "\n\t" or ch.isprintable() or not q.unicodedata.category(ch).startswith("C")
                           for ch in text)
    assert filled.answers["reason"] == [{"valueString": q.clean_text(reason, one_line=False)}]
