"""Patients' emails to the practice reach the agent: an SMTP server for the practice's address.

`mederi mail-listen` runs it (aiosmtpd): the practice's mail server forwards the front desk's
mailbox to it (a transport or alias to `smtp:[host]:port`), and the agent answers by email through
the reminders' email channel, "Re:" the patient's subject. What the agent reads is the first plain
text of the message (or the HTML's text), without the quoted history and the signature.

Email senders can be forged, and the agent may cancel or move a visit. So it acts only on mail that
the practice's own mail server vouched for: an `Authentication-Results` header from a trusted
server (MEDERI_AGENT_MAIL_AUTHSERV, the authserv-id the server writes) saying DMARC passed, or
failing that, SPF or DKIM passed for the sender's own domain. Anything else is still recorded and
shown to staff, but handed over to a person instead of acted on.

SMTP answers a person can act on: mail for another address is refused at RCPT (550), a message
over MAX_BYTES at DATA (552), and a message with no text at all is accepted and answered by email
(the sender learns what to do); nothing is stored for refused mail.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr

from mederi.ai.agent import services
from mederi.core.errors import MederiError
from mederi.scheduling.reminders.channels import Outgoing, SendError, channel_for, setting

log = logging.getLogger(__name__)
MAX_BYTES = 1_000_000
NO_TEXT = ("We could not read your message: it holds no text. Please write your question in the body of "
           "the email. For anything urgent, call the practice.")
UNVERIFIED = "The email's sender could not be verified (no passing DMARC, SPF or DKIM from the practice's mail server)."
# Where the quoted history of a reply begins ("On Tue, ... wrote:", "-----Original Message-----", "> ...").
_QUOTE_START = re.compile(r"^(On .{0,200}wrote:\s*$|-{2,}\s*Original Message\s*-{2,}|From: .+@.+|>)", re.I | re.M)
_SIGNATURE = re.compile(r"^--[ \t]*$", re.M)  # "-- " (mail software may drop its space)


@dataclass(frozen=True)
class Received:
    sender: str
    subject: str
    text: str
    verified: bool


def own_words(body: str) -> str:
    """The new text of a message: above the quoted history and the signature."""
    body = body.replace("\r\n", "\n").replace("\r", "\n")  # as it came over SMTP, or typed anywhere
    quote = _QUOTE_START.search(body)
    body = body[:quote.start()] if quote else body
    signature = _SIGNATURE.search(body)
    body = body[:signature.start()] if signature else body
    return "\n".join(line.rstrip() for line in body.strip().splitlines()).strip()


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        return ""
    if part.get_content_subtype() == "html":
        from django.utils.html import strip_tags

        content = re.sub(r"(?i)<br\s*/?>|</p>", "\n", content)
        content = strip_tags(content)
    return own_words(content)


def sender_verified(message: EmailMessage, sender: str) -> bool:
    """Did a trusted mail server record that this sender's domain authorised the message?"""
    trusted = setting("MEDERI_AGENT_MAIL_AUTHSERV", "")
    domain = sender.rpartition("@")[2].lower()
    if not trusted or not domain:
        return False
    for header in message.get_all("Authentication-Results") or ():
        authserv, _, results = str(header).partition(";")
        if authserv.strip().split()[0:1] != [trusted]:
            continue  # written by someone else: anyone can put such a header in their own mail
        text = results.lower()
        if re.search(rf"\bdmarc=pass\b[^;]*header\.from={re.escape(domain)}\b", text):
            return True
        if re.search(rf"\bspf=pass\b[^;]*smtp\.mailfrom=[^;\s]*@?{re.escape(domain)}\b", text):
            return True
        if re.search(rf"\bdkim=pass\b[^;]*header\.d={re.escape(domain)}\b", text):
            return True
    return False


def read(raw: bytes) -> Received:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    sender = parseaddr(str(message.get("From", "")))[1].strip().lower()
    subject = " ".join(str(message.get("Subject", "")).split())[:200]
    return Received(sender, subject, _text_of(message), sender_verified(message, sender))


def _reply(to: str, subject: str, text: str) -> None:
    subject = subject if subject.lower().startswith("re:") else f"Re: {subject or 'your message'}"
    try:
        channel_for("email").send(Outgoing("email", to, text, subject=subject))
    except SendError as problem:
        log.warning("agent: the email answer to %s was not sent: %s", to, problem)


def receive(raw: bytes) -> services.AgentReply | None:
    """One email to the practice: the agent acts on it (or hands it over) and answers by email."""
    received = read(raw)
    if not received.sender:
        log.info("agent: an email without a sender address was dropped")
        return None
    if not received.text:
        _reply(received.sender, received.subject, NO_TEXT)
        return None
    text = f"{received.subject}\n{received.text}" if _subject_says_more(received) else received.text
    try:
        reply = services.handle_message("email", text[:services.MAX_MESSAGE], address=received.sender,
                                        hand_over=None if received.verified else UNVERIFIED)
    except MederiError as problem:
        log.warning("agent: an email from %s was not handled: %s", received.sender, problem)
        return None
    if reply.answer:
        _reply(received.sender, received.subject, reply.answer)
    return reply


def _subject_says_more(received: Received) -> bool:
    """A subject like "Cancel my appointment" carries the request when the body is only a greeting."""
    subject = received.subject.lower()
    return bool(subject) and not subject.startswith(("re:", "fw:", "fwd:")) and len(received.text.split()) < 6


class _Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        accepted = {a.strip().lower() for a in setting("MEDERI_AGENT_MAIL_ADDRESSES", "").split(",") if a.strip()}
        if accepted and address.lower() not in accepted:
            return f"550 5.1.1 <{address}>: this server takes mail for the practice's front desk only"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if len(envelope.content) > MAX_BYTES:
            return f"552 5.3.4 message larger than {MAX_BYTES // 1000} kB: send the text without attachments"
        await asyncio.get_running_loop().run_in_executor(None, _receive_in_thread, bytes(envelope.content))
        return "250 2.0.0 message accepted"


def _receive_in_thread(raw: bytes) -> None:
    from django.db import close_old_connections

    close_old_connections()
    try:
        receive(raw)
    except Exception:  # one bad message must not stop the server; it is logged for the administrator
        log.exception("agent: an email could not be handled")
    finally:
        close_old_connections()


def controller(host: str, port: int):
    """An aiosmtpd controller serving the practice's mailbox (start() it; stop() it)."""
    from aiosmtpd.controller import Controller

    return Controller(_Handler(), hostname=host, port=port, data_size_limit=MAX_BYTES * 2)
