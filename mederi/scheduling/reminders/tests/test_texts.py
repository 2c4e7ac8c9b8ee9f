"""What a rule's text may say, and what the patient reads."""

import pytest

from mederi.core.errors import InvalidRequest
from mederi.scheduling.reminders.templating import AppointmentFacts, check_template, render, subject

FACTS = AppointmentFacts(patient_first_name="Maria", date="Friday, March 6, 2026", time="9:00 AM",
                         provider="Dr. Ana Ruiz", location="Riverside main clinic")


def test_placeholders_are_filled_in():
    text = render("Hi {patient_first_name}: {provider}, {date} {time} at {location}.", FACTS, "email")
    assert text == "Hi Maria: Dr. Ana Ruiz, Friday, March 6, 2026 9:00 AM at Riverside main clinic."
    assert subject(FACTS) == "Appointment reminder: Friday, March 6, 2026 at 9:00 AM"


def test_a_text_message_always_says_how_to_answer():
    assert render("See you {date}.", FACTS, "sms") == "See you Friday, March 6, 2026. Reply C to confirm, X to cancel."
    already = "See you {date}. Reply C to confirm, X to cancel."
    assert render(already, FACTS, "sms").count("Reply C") == 1
    assert "Reply C" not in render("See you {date}.", FACTS, "voice")


def test_literal_braces_are_written_twice():
    check_template("Code {{A1}} for {patient_first_name}", "sms")
    assert render("Code {{A1}}", FACTS, "email") == "Code {A1}"


@pytest.mark.parametrize("template, message", [
    ("", "write the text"),
    ("   ", "write the text"),
    ("Hello {name}", "{name} is not a placeholder; use {patient_first_name}, {date}, {time}, {provider}, {location}"),
    ("Hello {}", "{} is not a placeholder"),
    ("Hello {0}", "{0} is not a placeholder"),
    ("On {date:%Y}", "{date:%Y} is not a placeholder"),
    ("On {date!r}", "{date!r} is not a placeholder"),
    ("On {date", "a brace is not closed"),
    ("On date}", "a brace is not closed"),
    ("x" * 1001, "1001 characters long; a reminder by sms may have at most 1000"),
])
def test_a_bad_template_is_refused_with_the_reason(template, message):
    with pytest.raises(InvalidRequest) as caught:
        check_template(template, "sms")
    assert message in str(caught.value)
    assert caught.value.issues[0].expression == "template"
