"""Local stand-ins for the outside services reminders use, for tests and demos on one machine.

- `LocalSmtpServer`: an SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts
  (`.messages`), optionally with STARTTLS (a self-signed certificate made at start: `.ca_file`)
  and sign-in; it can refuse recipients or fail the next messages on request.
- `SmsProviderStandIn`: an HTTP server speaking the Twilio-style REST API the SMS and voice
  channels use (`{base}/2010-04-01/Accounts/{sid}/Messages.json` and `Calls.json`, Basic auth). It
  keeps what it was asked to send (`.messages`), can fail the next requests on request, and
  posts signed delivery callbacks (`post_status`) and patients' replies (`post_inbound`) to
  Mederi's webhooks, keeping the answers (`.replies`). With `answer_calls_with(recordings)` the
  patient picks up the next call: the stand-in follows its TwiML as a phone would (<Play> fetches
  the audio, <Record> answers with the next recording, served at the provider's Recordings address,
  and POSTs the signed action callback), then reports the call completed (`.calls`).

Neither needs Django. Run both by hand with `python -m mederi.scheduling.reminders.standin`.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import email
import email.policy
import ipaddress
import itertools
import json
import re
import socket
import tempfile
import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from mederi.scheduling.reminders.twilio_style import API_VERSION, signature

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def self_signed_certificate(directory: Path, host: str) -> tuple[str, str]:
    """A certificate for `host` valid for a day, and its key: (certificate file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.timezone.utc)
    try:
        alt = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alt = x509.DNSName(host)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "standin.crt", directory / "standin.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


# -- SMTP -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage
    authenticated_as: str | None


class LocalSmtpServer:
    """An SMTP server on this machine that keeps what it receives; see the module docstring."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, starttls: bool = False,
                 username: str | None = None, password: str | None = None):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.host = host
        self.port = port or free_port(host)
        self.messages: list[ReceivedMail] = []
        self.refused_recipients: set[str] = set()
        self._failures: list[str] = []  # SMTP replies for the next DATA commands, e.g. "451 4.3.0 try later"
        self._lock = threading.Lock()
        self._directory = tempfile.TemporaryDirectory(prefix="mederi-smtp-")
        self.ca_file = None
        options = {}
        if starttls:
            import ssl

            self.ca_file, key_file = self_signed_certificate(Path(self._directory.name), host)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.ca_file, key_file)
            options.update(tls_context=context, require_starttls=True)
        if username is not None:
            def authenticate(server, session, envelope, mechanism, auth_data):
                given = (auth_data.login.decode(), auth_data.password.decode())
                return AuthResult(success=given == (username, password), handled=False, auth_data=auth_data)

            options.update(authenticator=authenticate, auth_required=True, auth_require_tls=starttls)
        self._controller = Controller(_SmtpHandler(self), hostname=host, port=self.port, **options)
        self._controller.start()

    def fail_next(self, reply: str = "451 4.3.0 mailbox busy, try again later", times: int = 1) -> None:
        with self._lock:
            self._failures += [reply] * times

    def _next_failure(self) -> str | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _keep(self, mail: ReceivedMail) -> None:
        with self._lock:
            self.messages.append(mail)

    def stop(self) -> None:
        self._controller.stop()
        self._directory.cleanup()

    def __enter__(self) -> "LocalSmtpServer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


class _SmtpHandler:
    def __init__(self, server: LocalSmtpServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in {a.lower() for a in self.server.refused_recipients}:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        failure = self.server._next_failure()
        if failure:
            return failure
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        login = getattr(session.auth_data, "login", None) if session.authenticated else None
        login = login.decode() if isinstance(login, bytes) else login
        self.server._keep(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message, login))
        return "250 2.0.0 message accepted"


# -- SMS and voice ----------------------------------------------------------------------------------


@dataclass
class ProviderMessage:
    """A text or call the provider was asked for."""

    sid: str
    kind: str  # "sms" or "call"
    to: str
    sender: str
    body: str  # the text, or the TwiML of a call
    status_callback: str | None
    status: str = "queued"
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))


@dataclass
class CallLog:
    """What happened on a call the stand-in's patient answered."""

    sid: str
    played: list[bytes] = field(default_factory=list)  # the audio each <Play> fetched
    said: list[str] = field(default_factory=list)  # the text of each <Say>
    answers: list["WebhookAnswer"] = field(default_factory=list)  # Mederi's TwiML after each recorded answer
    problems: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: str

    @property
    def reply_text(self) -> str:
        """The text of a TwiML <Message> in the answer, "" if none."""
        try:
            root = ElementTree.fromstring(self.body)
        except ElementTree.ParseError:
            return ""
        return " ".join((element.text or "").strip() for element in root.iter("Message")).strip()


class SmsProviderStandIn:
    """A Twilio-style SMS and voice provider on this machine; see the module docstring."""

    def __init__(self, account_sid: str = "ACstandin", auth_token: str = "standin-token", *,
                 inbound_url: str | None = None, number: str = "+15550100000", host: str = "127.0.0.1",
                 port: int = 0):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.inbound_url = inbound_url  # Mederi's webhook for patients' replies
        self.number = number  # the practice's number patients reply to
        self.messages: list[ProviderMessage] = []
        self.replies: list[tuple[str, str]] = []  # (patient's number, what Mederi answered)
        self._failures: list[tuple[int, dict | str]] = []
        self.calls: dict[str, CallLog] = {}
        self.recordings: dict[str, bytes] = {}
        self._answers: list[bytes] | None = None  # the patient's recorded answers for the next call
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer((host, port), _ProviderHandler)
        self._server.standin = self
        self._server.daemon_threads = True
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name="sms-standin", daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "SmsProviderStandIn":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- what a test asks of it --

    def fail_next(self, status: int = 500, code: int = 20500, message: str = "Internal server error",
                  times: int = 1, raw: str | None = None) -> None:
        """The next `times` requests get this error (JSON like the provider's, or `raw` text)."""
        body = raw if raw is not None else {"code": code, "message": message, "status": status,
                                            "more_info": f"https://example.invalid/errors/{code}"}
        with self._lock:
            self._failures += [(status, body)] * times

    def answer_calls_with(self, recordings: list[bytes]) -> None:
        """The patient picks up the next call and answers its <Record>s with these WAV recordings in turn
        (b"" for silence, after which the call goes on to its next verb)."""
        with self._lock:
            self._answers = list(recordings)

    def find(self, sid: str) -> ProviderMessage:
        with self._lock:
            return next(m for m in self.messages if m.sid == sid)

    def signed(self, url: str, params: dict[str, str]) -> str:
        return signature(url, params, self.auth_token)

    def post_status(self, sid: str, status: str, error_code: str | None = None) -> WebhookAnswer:
        """Report `status` (delivered, undelivered, failed; for calls completed, busy, no-answer) of a
        message to the StatusCallback it was sent with."""
        message = self.find(sid)
        if not message.status_callback:
            raise ValueError(f"{sid} was sent without a StatusCallback URL")
        message.status = status
        if message.kind == "call":
            params = {"CallSid": sid, "CallStatus": status}
        else:
            params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status}
        params.update(AccountSid=self.account_sid, To=message.to, From=message.sender, ApiVersion=API_VERSION)
        if error_code:
            params["ErrorCode"] = str(error_code)
        return self._post(message.status_callback, params)

    def post_inbound(self, sender: str, body: str, url: str | None = None) -> WebhookAnswer:
        """A patient at `sender` texts `body` to the practice's number."""
        url = url or self.inbound_url
        if not url:
            raise ValueError("no inbound webhook URL: give inbound_url to the stand-in")
        sid = f"SM{next(self._ids):032x}"
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": self.account_sid, "From": sender,
                  "To": self.number, "Body": body, "NumMedia": "0", "ApiVersion": API_VERSION}
        answer = self._post(url, params)
        if answer.status == 200 and answer.reply_text:
            with self._lock:
                self.replies.append((sender, answer.reply_text))
        return answer

    def _run_call(self, message: ProviderMessage, answers: list[bytes]) -> None:
        """Follow a call's TwiML as the patient's phone would, then report the call completed."""
        log = self.calls[message.sid]
        document, turn = message.body, 0
        try:
            while document:
                document, turn = self._follow(message, log, ElementTree.fromstring(document), answers, turn)
        except (ElementTree.ParseError, OSError, ValueError) as problem:
            log.problems.append(f"{type(problem).__name__}: {problem}")
        if message.status_callback:
            self.post_status(message.sid, "completed")
        log.done.set()

    def _follow(self, message: ProviderMessage, log: CallLog, root, answers: list[bytes], turn: int):
        """Run the verbs of one TwiML document; returns the next document (after a <Record>) or None."""
        for verb in root:
            if verb.tag == "Say":
                log.said.append((verb.text or "").strip())
            elif verb.tag == "Play":
                with urllib.request.urlopen((verb.text or "").strip(), timeout=60) as response:
                    audio = response.read()
                if not audio.startswith(b"RIFF") or "audio/" not in response.headers.get("Content-Type", ""):
                    log.problems.append(f"<Play> {verb.text} did not give WAV audio")
                log.played.append(audio)
            elif verb.tag == "Record":
                recording = answers.pop(0) if answers else b""
                if not recording:
                    continue  # nothing was said: the call goes on with the next verb
                turn += 1
                recording_sid = f"RE{next(self._ids):032x}"
                with self._lock:
                    self.recordings[recording_sid] = recording
                seconds = len(recording) / 32000  # about right for 16 kHz 16-bit mono; only reported
                params = {"CallSid": message.sid, "AccountSid": self.account_sid, "From": message.to,
                          "To": message.sender, "CallStatus": "in-progress", "ApiVersion": API_VERSION,
                          "RecordingSid": recording_sid, "RecordingDuration": str(max(1, round(seconds))),
                          "RecordingUrl": f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}"
                                          f"/Recordings/{recording_sid}"}
                answer = self._post(verb.get("action", ""), params)
                log.answers.append(answer)
                return (answer.body if answer.status == 200 else None), turn
            elif verb.tag == "Hangup":
                return None, turn
        return None, turn

    def _post(self, url: str, params: dict[str, str], signature_value: str | None = None) -> WebhookAnswer:
        request = urllib.request.Request(
            url, data=urlencode(params).encode(), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "X-Twilio-Signature": signature_value or self.signed(url, params)})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return WebhookAnswer(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return WebhookAnswer(error.code, error.read().decode(errors="replace"))

    # -- what the HTTP handler asks of it --

    def _take_failure(self):
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _accept(self, kind: str, form: dict[str, str]) -> ProviderMessage:
        prefix = "SM" if kind == "sms" else "CA"
        message = ProviderMessage(
            sid=f"{prefix}{next(self._ids):032x}", kind=kind, to=form["To"], sender=form["From"],
            body=form.get("Body") or form.get("Twiml") or form.get("Url") or "",
            status_callback=form.get("StatusCallback") or None)
        with self._lock:
            self.messages.append(message)
            answers, self._answers = self._answers, None
        if kind == "call" and answers is not None and form.get("Twiml"):
            self.calls[message.sid] = CallLog(message.sid)
            threading.Thread(target=self._run_call, args=(message, answers), name="standin-call", daemon=True).start()
        return message


class _ProviderHandler(BaseHTTPRequestHandler):
    server_version = "StandInProvider/1.0"

    def log_message(self, format, *args):  # quiet: tests read .messages instead
        pass

    def _json(self, status: int, body) -> None:
        data = (json.dumps(body) if not isinstance(body, str) else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if not isinstance(body, str) else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: int, message: str) -> None:
        self._json(status, {"code": code, "message": message, "status": status,
                            "more_info": f"https://example.invalid/errors/{code}"})

    def do_GET(self):  # noqa: N802 (the name http.server calls): a recording, fetched with the account's key
        standin: SmsProviderStandIn = self.server.standin
        match = re.fullmatch(rf"/{API_VERSION}/Accounts/([^/]+)/Recordings/(RE[0-9a-f]+)\.wav", self.path)
        expected = "Basic " + base64.b64encode(f"{standin.account_sid}:{standin.auth_token}".encode()).decode()
        if not match or match.group(2) not in standin.recordings:
            return self._error(404, 20404, f"The requested resource {self.path} was not found")
        if self.headers.get("Authorization") != expected or match.group(1) != standin.account_sid:
            return self._error(401, 20003, "Authentication Error - invalid username or password")
        audio = standin.recordings[match.group(2)]
        self.send_response(200)
        self.send_header("Content-Type", "audio/x-wav")
        self.send_header("Content-Length", str(len(audio)))
        self.end_headers()
        self.wfile.write(audio)

    def do_POST(self):  # noqa: N802 (the name http.server calls)
        standin: SmsProviderStandIn = self.server.standin
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        match = re.fullmatch(rf"/{API_VERSION}/Accounts/([^/]+)/(Messages|Calls)\.json", self.path)
        if not match:
            return self._error(404, 20404, f"The requested resource {self.path} was not found")
        expected = "Basic " + base64.b64encode(f"{standin.account_sid}:{standin.auth_token}".encode()).decode()
        if self.headers.get("Authorization") != expected or match.group(1) != standin.account_sid:
            return self._error(401, 20003, "Authentication Error - invalid username or password")
        failure = standin._take_failure()
        if failure:
            return self._json(*failure)
        kind = "sms" if match.group(2) == "Messages" else "call"
        to = form.get("To", "")
        if not E164.match(to):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not form.get("From"):
            return self._error(400, 21603, "A 'From' phone number is required.")
        if kind == "sms" and not form.get("Body"):
            return self._error(400, 21602, "Message body is required.")
        if kind == "call" and not (form.get("Twiml") or form.get("Url")):
            return self._error(400, 21205, "Either Url or Twiml is required to start a call.")
        message = standin._accept(kind, form)
        self._json(201, {"sid": message.sid, "account_sid": standin.account_sid, "to": message.to,
                         "from": message.sender, "status": "queued", "body": form.get("Body"),
                         "date_created": message.created.strftime("%a, %d %b %Y %H:%M:%S +0000")})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a local SMTP server and a Twilio-style SMS/voice provider.")
    parser.add_argument("--smtp-port", type=int, default=8025)
    parser.add_argument("--sms-port", type=int, default=8026)
    parser.add_argument("--account-sid", default="ACstandin")
    parser.add_argument("--auth-token", default="standin-token")
    args = parser.parse_args(argv)
    smtp = LocalSmtpServer(port=args.smtp_port)
    provider = SmsProviderStandIn(args.account_sid, args.auth_token, port=args.sms_port)
    print(f"SMTP on 127.0.0.1:{smtp.port}; SMS/voice provider at {provider.base_url} "
          f"(account {args.account_sid}, token {args.auth_token}). Ctrl-C stops.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        provider.stop()
        smtp.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
