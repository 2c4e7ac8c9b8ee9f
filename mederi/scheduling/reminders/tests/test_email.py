"""Email reminders over real SMTP, received by a local SMTP server."""

from datetime import timedelta

import pytest

from mederi.scheduling.reminders import services
from mederi.scheduling.reminders.channels import EmailChannel, Outgoing, SendError
from mederi.scheduling.reminders.models import ReminderMessage
from mederi.scheduling.reminders.standin import LocalSmtpServer, free_port

from .conftest import NOW, make_rule

FRIDAY_9 = NOW + timedelta(days=4, hours=1)


def due_email(frozen):
    make_rule("Email 3 days before", channel="email", amount=3, unit="days",
              template="Dear {patient_first_name},\n\nsee {provider} on {date} at {time} at {location}.\n")
    services.schedule_reminders("appt-1")
    frozen.moment = FRIDAY_9 - timedelta(days=3)
    return ReminderMessage.objects.get()


def test_an_email_reminder_arrives_at_the_mail_server(practice, smtp_settings, frozen):
    message = due_email(frozen)
    assert services.send_due_reminders().counts == {"sent": 1}
    [mail] = smtp_settings.messages
    assert mail.mail_from == "reminders@riverside.example"
    assert mail.rcpt_tos == ["maria@example.org"]
    assert mail.message["Subject"] == "Appointment reminder: Friday, March 6, 2026 at 9:00 AM"
    assert mail.message["To"] == "maria@example.org"
    assert mail.message.get_content().replace("\r\n", "\n") == ("Dear Maria,\n\nsee Dr. Ana Ruiz on Friday, March 6, 2026 at 9:00 AM at "
                                          "Riverside main clinic.\n")
    message.refresh_from_db()
    assert message.provider_message_id == mail.message["Message-ID"]
    assert message.status == "sent"  # email has no delivery report: "sent" is as far as it goes


def test_starttls_and_sign_in(db, tmp_path):
    with LocalSmtpServer(starttls=True, username="clinic", password="s3cret") as server:
        channel = EmailChannel(server.host, server.port, user="clinic", password="s3cret", starttls=True,
                               sender="reminders@riverside.example", ca_file=server.ca_file)
        result = channel.send(Outgoing("email", "maria@example.org", "See you Friday.", "Reminder"))
        [mail] = server.messages
        assert mail.authenticated_as == "clinic"
        assert mail.message["Message-ID"] == result.provider_message_id
        wrong = EmailChannel(server.host, server.port, user="clinic", password="nope", starttls=True,
                             ca_file=server.ca_file)
        with pytest.raises(SendError, match="refused the sign-in of 'clinic'.*check MEDERI_SMTP_USER"):
            wrong.send(Outgoing("email", "maria@example.org", "x", "Reminder"))
        plain = EmailChannel(server.host, server.port, user="clinic", password="s3cret")
        with pytest.raises(SendError):  # no STARTTLS: the server will not take a password in the clear
            plain.send(Outgoing("email", "maria@example.org", "x", "Reminder"))
        assert len(server.messages) == 1


def test_an_unknown_mailbox_fails_at_once(practice, smtp_settings, frozen):
    smtp_settings.refused_recipients.add("maria@example.org")
    message = due_email(frozen)
    assert services.send_due_reminders().counts == {"failed": 1}
    message.refresh_from_db()
    assert message.last_error == "the mail server refused the address maria@example.org (550 5.1.1 no such mailbox here)"


def test_a_busy_mail_server_is_tried_again(practice, smtp_settings, frozen):
    smtp_settings.fail_next("451 4.3.0 mailbox busy, try again later")
    message = due_email(frozen)
    assert services.send_due_reminders().counts == {"pending": 1}
    message.refresh_from_db()
    assert "(451 4.3.0 mailbox busy, try again later)" in message.last_error
    frozen.advance(minutes=1)
    assert services.send_due_reminders().counts == {"sent": 1}
    assert len(smtp_settings.messages) == 1


def test_a_mail_server_that_is_down_is_tried_again(practice, smtp_settings, frozen, settings):
    settings.MEDERI_SMTP_PORT = free_port()
    message = due_email(frozen)
    assert services.send_due_reminders().counts == {"pending": 1}
    message.refresh_from_db()
    assert message.last_error.startswith(f"attempt 1 failed: could not reach the mail server at 127.0.0.1:"
                                         f"{settings.MEDERI_SMTP_PORT}")
