"""Patients' emails reach the agent over SMTP and are answered by email; a sender the practice's mail
server did not vouch for is handed to staff, never acted on; refused mail leaves nothing behind."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mederi.ai.agent import mail
from mederi.ai.agent.models import Conversation, Turn
from mederi.ai.agent.tests.conftest import PATIENT, read
from mederi.scheduling.reminders.standin import LocalSmtpServer, free_port
from mederi.scheduling.reminders.tests.conftest import database_threads_can_share

MAILBOX = "frontdesk@riverside.example"
SENDER = "maria.lopez@example.org"
AUTHSERV = "mx.riverside.example"
PASSED = f"{AUTHSERV}; spf=pass smtp.mailfrom={SENDER}; dkim=pass header.d=example.org; dmarc=pass header.from=example.org"


def an_email(body: str, *, subject: str = "My appointment", sender: str = SENDER,
             authentication: str | None = PASSED) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"Maria Lopez <{sender}>", MAILBOX, subject
    if authentication:
        message["Authentication-Results"] = authentication
    message.set_content(body)
    return message


@pytest.fixture
def mail_settings(settings):
    settings.MEDERI_AGENT_MAIL_AUTHSERV = AUTHSERV
    settings.MEDERI_AGENT_MAIL_ADDRESSES = MAILBOX
    with LocalSmtpServer() as outgoing:
        settings.MEDERI_EMAIL_PROVIDER = "smtp"
        settings.MEDERI_SMTP_HOST, settings.MEDERI_SMTP_PORT = outgoing.host, outgoing.port
        settings.MEDERI_REMINDER_FROM_EMAIL = MAILBOX
        yield outgoing


@pytest.fixture
def listening(mail_settings):
    server = mail.controller("127.0.0.1", free_port())
    server.start()
    yield server
    server.stop()


@pytest.mark.django_db(transaction=True)
def test_an_email_asking_to_move_the_visit_is_answered_with_real_slots_by_email(listening, mail_settings, frozen,
                                                                               tmp_path):
    from mederi.ai.agent import evaluation

    with database_threads_can_share(tmp_path):
        evaluation.make_practice()
        question = an_email("Hello, can we move my appointment to another day?\n\nThanks,\nMaria\n-- \nSent from "
                            "my phone\n\nOn Mon, Mar 2, 2026 the practice wrote:\n> Your visit is on Thursday.")
        with smtplib.SMTP(listening.hostname, listening.port) as client:
            client.send_message(question)

        [answer] = mail_settings.messages
        assert answer.rcpt_tos == [SENDER] and answer.message["Subject"] == "Re: My appointment"
        assert "Reply with the number, or NONE." in answer.message.get_content()
        conversation = Conversation.objects.get(channel="email", patient_id=PATIENT)
        assert conversation.state == Conversation.OFFERING
        said = conversation.turns.filter(speaker=Turn.PATIENT).get().text
        assert said == "Hello, can we move my appointment to another day?\n\nThanks,\nMaria"  # no quote, no signature


def test_an_unverified_sender_is_handed_to_staff_and_nothing_changes(appointment, mail_settings):
    before = read("Appointment", appointment)
    reply = mail.receive(an_email("Please cancel my appointment.", authentication=None).as_bytes())
    assert reply.outcome == "handed-over"
    conversation = Conversation.objects.get(channel="email")
    assert conversation.state == Conversation.WITH_STAFF and conversation.handover_reason == mail.UNVERIFIED
    assert read("Appointment", appointment) == before
    [answer] = mail_settings.messages
    assert "A member of our staff will read your message" in answer.message.get_content()


def test_an_authentication_header_written_by_someone_else_is_not_trusted(appointment, mail_settings):
    forged = PASSED.replace(AUTHSERV, "mx.attacker.example")
    before = read("Appointment", appointment)
    assert mail.receive(an_email("Please cancel my appointment.", authentication=forged).as_bytes()).outcome == \
        "handed-over"
    assert not mail.sender_verified(an_email("x", authentication=PASSED.replace("example.org", "other.example")),
                                    SENDER)
    assert read("Appointment", appointment) == before


def test_a_verified_cancel_is_asked_to_be_confirmed_first(appointment, mail_settings):
    reply = mail.receive(an_email("I need to cancel my appointment, something came up.").as_bytes())
    assert reply.outcome == "cancel-asked"
    assert read("Appointment", appointment)["status"] == "booked"


def test_an_email_without_text_is_answered_with_what_to_do(appointment, mail_settings):
    empty = an_email("")
    empty.set_content("   \n")
    assert mail.receive(empty.as_bytes()) is None
    [answer] = mail_settings.messages
    assert answer.message.get_content().startswith("We could not read your message: it holds no text.")
    assert not Conversation.objects.exists()


def test_mail_for_other_addresses_and_oversized_mail_are_refused_at_smtp(listening):
    with smtplib.SMTP(listening.hostname, listening.port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail(SENDER, ["billing@elsewhere.example"], b"Subject: hi\r\n\r\nhello\r\n")
        assert refused.value.recipients["billing@elsewhere.example"][0] == 550
        with pytest.raises(smtplib.SMTPDataError) as too_big:
            client.sendmail(SENDER, [MAILBOX], b"Subject: big\r\n\r\n" + (b"x" * 76 + b"\r\n") * (mail.MAX_BYTES // 78 + 10))
        assert too_big.value.smtp_code == 552 and b"without attachments" in too_big.value.smtp_error


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=200),
       st.text(max_size=200))
def test_own_words_keep_what_was_written_above_the_quoted_history(written, quoted):
    assert mail.own_words(f"{written}\n\nOn Mon, Mar 2, 2026 Practice wrote:\n> {quoted}") == mail.own_words(written)
