"""The ways a reminder leaves the practice, behind one interface: `channel_for(name).send(outgoing)`.

- `EmailChannel`: real SMTP (smtplib), optionally STARTTLS or implicit TLS, with sign-in;
- `SmsChannel` and `VoiceChannel`: a Twilio-style REST provider (`twilio_style.py`); a call plays the
  reminder spoken on this machine and records the patient's answer (`voice.py`);
- `LocalOutboxChannel`: the in-process stand-in, which keeps messages in the database (the
  LocalOutboxMessage table) instead of sending them: for demos and machines without a provider.

Which one a channel uses comes from MEDERI_EMAIL_PROVIDER ("smtp" or "standin-inprocess") and
MEDERI_SMS_PROVIDER ("twilio" or "standin-inprocess", for SMS and voice). Both default to the
stand-in, so an unconfigured installation never messages real patients.

A send either returns the provider's id for the message or raises `SendError`, whose `retry`
says whether trying again later may help; where a message may have gone out without our knowing,
`retry` is False, so no patient is messaged twice.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from django.conf import settings

from mederi.scheduling.reminders.models import EMAIL, SMS, VOICE, LocalOutboxMessage
from mederi.scheduling.reminders.twilio_style import ProviderError, TwilioStyleClient

STANDIN = "standin-inprocess"


def setting(name: str, default=None):
    return getattr(settings, name, default)


@dataclass(frozen=True)
class Outgoing:
    channel: str
    to: str
    body: str
    subject: str = ""
    status_callback: str | None = None  # where the provider reports delivery, if it can
    twiml: str = ""  # a call's instructions to the provider (voice.call_twiml): play the reminder, record the answer


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    delivered: bool = False  # the channel itself knows the message arrived (the in-process stand-in)


class SendError(Exception):
    """The message was not sent; `retry` says whether trying again later may help."""

    def __init__(self, message: str, *, retry: bool):
        super().__init__(message)
        self.retry = retry


class Channel(Protocol):
    name: str

    def send(self, outgoing: Outgoing) -> SendResult: ...


class EmailChannel:
    name = EMAIL

    def __init__(self, host: str, port: int, *, user: str = "", password: str = "", starttls: bool = False,
                 use_ssl: bool = False, sender: str = "reminders@localhost", timeout: float = 20.0,
                 ca_file: str | None = None):
        self.host, self.port = host, int(port)
        self.user, self.password = user, password
        self.starttls, self.use_ssl = starttls, use_ssl
        self.sender = sender
        self.timeout = timeout
        self.ca_file = ca_file

    @classmethod
    def from_settings(cls) -> "EmailChannel":
        return cls(
            setting("MEDERI_SMTP_HOST", "localhost"), setting("MEDERI_SMTP_PORT", 25),
            user=setting("MEDERI_SMTP_USER", ""), password=setting("MEDERI_SMTP_PASSWORD", ""),
            starttls=bool(setting("MEDERI_SMTP_STARTTLS", False)), use_ssl=bool(setting("MEDERI_SMTP_SSL", False)),
            sender=setting("MEDERI_REMINDER_FROM_EMAIL", "reminders@localhost"),
            timeout=float(setting("MEDERI_SMTP_TIMEOUT", 20)), ca_file=setting("MEDERI_SMTP_CA_FILE", None),
        )

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def _message(self, outgoing: Outgoing) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = outgoing.to
        message["Subject"] = outgoing.subject or "Appointment reminder"
        message["Date"] = formatdate(localtime=False)
        domain = self.sender.rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(outgoing.body)
        return message

    def send(self, outgoing: Outgoing) -> SendResult:
        message = self._message(outgoing)
        where = f"{self.host}:{self.port}"
        try:
            if self.use_ssl:
                server = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls())
            else:
                server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as error:
            raise SendError(f"could not reach the mail server at {where}: {error}", retry=True) from error
        try:
            try:
                server.ehlo()
                if self.starttls:
                    server.starttls(context=self._tls())
                    server.ehlo()
                if self.user:
                    server.login(self.user, self.password)
            except smtplib.SMTPAuthenticationError as error:
                raise SendError(f"the mail server at {where} refused the sign-in of '{self.user}' "
                                f"({_smtp_reply(error)}): check MEDERI_SMTP_USER and MEDERI_SMTP_PASSWORD",
                                retry=True) from error
            except smtplib.SMTPNotSupportedError as error:
                raise SendError(f"the mail server at {where} does not offer {error}: check MEDERI_SMTP_STARTTLS "
                                "and MEDERI_SMTP_USER", retry=True) from error
            except (OSError, smtplib.SMTPException) as error:
                raise SendError(f"could not start a session with the mail server at {where}: {error}",
                                retry=True) from error
            self._deliver(server, message, outgoing.to, where)
        finally:
            try:
                server.quit()
            except (OSError, smtplib.SMTPException):
                server.close()
        return SendResult(provider_message_id=message["Message-ID"])

    def _deliver(self, server: smtplib.SMTP, message: EmailMessage, to: str, where: str) -> None:
        try:
            server.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()))
            raise SendError(f"the mail server refused the address {to} ({code} {_text(reply)})",
                            retry=400 <= code < 500) from error
        except smtplib.SMTPSenderRefused as error:
            raise SendError(f"the mail server refused the sender {self.sender} ({error.smtp_code} "
                            f"{_text(error.smtp_error)}): check MEDERI_REMINDER_FROM_EMAIL",
                            retry=400 <= error.smtp_code < 500) from error
        except smtplib.SMTPResponseException as error:
            raise SendError(f"the mail server at {where} did not accept the message ({_smtp_reply(error)})",
                            retry=400 <= error.smtp_code < 500) from error
        except (OSError, smtplib.SMTPException) as error:
            # The connection broke while the message was being handed over: it may have been accepted.
            raise SendError(f"the connection to the mail server at {where} broke while sending ({error}); the "
                            "message may have gone out, so it is not sent again", retry=False) from error


def _text(reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _smtp_reply(error: smtplib.SMTPResponseException) -> str:
    return f"{error.smtp_code} {_text(error.smtp_error)}"


def _twilio_client() -> TwilioStyleClient:
    try:
        return TwilioStyleClient(setting("MEDERI_SMS_BASE_URL", "https://api.twilio.com"),
                                 setting("MEDERI_SMS_ACCOUNT_SID", ""), setting("MEDERI_SMS_AUTH_TOKEN", ""),
                                 timeout=float(setting("MEDERI_SMS_TIMEOUT", 15)),
                                 verify=setting("MEDERI_SMS_CA_FILE", None) or True)
    except ProviderError as error:
        raise SendError(str(error), retry=error.retry) from error


class SmsChannel:
    name = SMS

    def __init__(self, client: TwilioStyleClient, sender: str):
        self.client = client
        self.sender = sender

    def send(self, outgoing: Outgoing) -> SendResult:
        if not self.sender:
            raise SendError("no number to send texts from: set MEDERI_SMS_FROM", retry=True)
        try:
            accepted = self.client.send_sms(outgoing.to, self.sender, outgoing.body, outgoing.status_callback)
        except ProviderError as error:
            raise SendError(str(error), retry=error.retry) from error
        return SendResult(accepted.sid)


class VoiceChannel:
    name = VOICE

    def __init__(self, client: TwilioStyleClient, sender: str):
        self.client = client
        self.sender = sender

    def send(self, outgoing: Outgoing) -> SendResult:
        if not self.sender:
            raise SendError("no number to call from: set MEDERI_VOICE_FROM or MEDERI_SMS_FROM", retry=True)
        if not outgoing.twiml:
            raise SendError("calls need MEDERI_REMINDER_WEBHOOK_BASE: the provider fetches the spoken reminder from "
                            "Mederi and sends the patient's answer back to it", retry=True)
        try:
            accepted = self.client.start_call(outgoing.to, self.sender, outgoing.twiml, outgoing.status_callback)
        except ProviderError as error:
            raise SendError(str(error), retry=error.retry) from error
        return SendResult(accepted.sid)


class LocalOutboxChannel:
    """Keeps the message in LocalOutboxMessage instead of sending it; it counts as delivered at once."""

    def __init__(self, name: str):
        self.name = name

    def send(self, outgoing: Outgoing) -> SendResult:
        sender = setting("MEDERI_REMINDER_FROM_EMAIL", "reminders@localhost") if self.name == EMAIL else (
            setting("MEDERI_SMS_FROM", "") or "practice")
        kept = LocalOutboxMessage.objects.create(
            channel=self.name, direction=LocalOutboxMessage.OUT, to=outgoing.to, sender=sender,
            subject=outgoing.subject, body=outgoing.body, provider_message_id=f"LOCAL{uuid.uuid4().hex}")
        return SendResult(kept.provider_message_id, delivered=True)


def uses_standin(channel: str) -> bool:
    if channel == EMAIL:
        return setting("MEDERI_EMAIL_PROVIDER", STANDIN) == STANDIN
    return setting("MEDERI_SMS_PROVIDER", STANDIN) == STANDIN


def channel_for(name: str) -> Channel:
    """The channel configured for `name` (email, sms, voice)."""
    if name not in (EMAIL, SMS, VOICE):
        raise SendError(f"'{name}' is not a reminder channel; use email, sms or voice", retry=False)
    if uses_standin(name):
        return LocalOutboxChannel(name)
    if name == EMAIL:
        provider = setting("MEDERI_EMAIL_PROVIDER", STANDIN)
        if provider != "smtp":
            raise SendError(f"MEDERI_EMAIL_PROVIDER is '{provider}'; use smtp or {STANDIN}", retry=True)
        return EmailChannel.from_settings()
    provider = setting("MEDERI_SMS_PROVIDER", STANDIN)
    if provider != "twilio":
        raise SendError(f"MEDERI_SMS_PROVIDER is '{provider}'; use twilio or {STANDIN}", retry=True)
    if name == SMS:
        return SmsChannel(_twilio_client(), setting("MEDERI_SMS_FROM", ""))
    return VoiceChannel(_twilio_client(), setting("MEDERI_VOICE_FROM", "") or setting("MEDERI_SMS_FROM", ""))


__all__ = ["Channel", "EmailChannel", "LocalOutboxChannel", "Outgoing", "SendError", "SendResult", "SmsChannel",
           "VoiceChannel", "channel_for"]
