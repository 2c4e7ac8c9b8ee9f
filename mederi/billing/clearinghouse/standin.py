"""A local payer/clearinghouse stand-in, for tests and demos on a machine that reaches no payer.

`StandIn(responder)` starts, on 127.0.0.1 and free ports, in background threads:

- an HTTPS server speaking the CAQH CORE envelope (the one `HttpsConnector` sends) behind HTTP
  Basic authentication, with a self-signed certificate made at start (`.ca_file`, `.https_url`);
- an SFTP server (`.sftp_port`, `.host_key`) that answers every file uploaded into inbound/ by
  writing a file with the same base name into outbound/ (".271" for a 270, ".999" for a claim).

What the payer says is up to `responder(payload, kind)`: it gets the request's X12 bytes and its
kind ("270", "837P", ...) and returns the answer's bytes, or None to stay silent (a payer that
never answers), or several answer files as {kind: bytes} (a claim file is answered by a 999 and a
277CA: `claims_responder.ClaimAcknowledger`). It runs on a worker thread, so it may block or use
the database.

Run it by hand with `python -m mederi.billing.clearinghouse.standin --help`; it needs nothing of
Django.
"""

import argparse
import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import importlib
import ipaddress
import logging
import shutil
import signal
import ssl
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncssh
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from . import envelope

Responder = Callable[[bytes, str], "bytes | dict[str, bytes] | None"]
log = logging.getLogger(__name__)
UNFINISHED_SUFFIXES = (".part", ".tmp", ".filepart")
REQUIRED_FIELDS = ("ProcessingMode", "PayloadType", "PayloadID", "TimeStamp", "SenderID", "ReceiverID",
                   "CORERuleVersion")


def echo_responder(payload: bytes, kind: str) -> bytes:
    """Answers every request with the request itself: enough to see the plumbing work."""
    return payload


class StandIn:
    """A clearinghouse on this machine, speaking HTTPS (CORE envelopes) and SFTP; see the module docstring."""

    def __init__(
        self,
        responder: Responder,
        *,
        username: str = "mederi",
        password: str = "stand-in",
        host: str = "127.0.0.1",
        https_port: int = 0,
        sftp_port: int = 0,
        authorized_client_key: str | None = None,
        realtime_reply: str = "multipart",
    ):
        self.responder = responder
        self.username = username
        self.password = password
        self.host = host
        self.realtime_reply = realtime_reply  # "multipart" (a CORE envelope) or "x12" (the bare 271)
        self.authorized_client_key = asyncssh.import_public_key(authorized_client_key) if authorized_client_key else None
        # What arrived, in order, as (transport, kind, payload): lets a test or a demo show it.
        self.received: list[tuple[str, str, bytes]] = []
        self._batch_results: list[tuple[str, str, bytes]] = []  # (name, kind, bytes) not yet retrieved
        self._lock = threading.Lock()
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="standin-responder")
        self._https = None
        self._loop = None
        self._acceptor = None
        self.directory = Path(tempfile.mkdtemp(prefix="mederi-standin-"))
        try:
            self._start_https(https_port)
            self._start_sftp(sftp_port)
        except BaseException:
            self.stop()
            raise

    def __enter__(self) -> "StandIn":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- what the responder says, shared by both transports --

    def answer(self, transport: str, payload: bytes, kind: str) -> bytes | None:
        with self._lock:
            self.received.append((transport, kind, payload))
        return self.responder(payload, kind)

    # -- HTTPS --

    def _start_https(self, port: int) -> None:
        self.ca_file, key_file = _self_signed_certificate(self.directory, self.host)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.ca_file, key_file)
        self._https = _HttpsServer((self.host, port), _CoreHandler, context, self)
        self.https_port = self._https.server_address[1]
        self.https_url = f"https://{self.host}:{self.https_port}/core"
        threading.Thread(
            target=self._https.serve_forever, kwargs={"poll_interval": 0.1}, name="standin-https", daemon=True
        ).start()

    def queue_batch_result(self, name: str, kind: str, data: bytes) -> None:
        with self._lock:
            self._batch_results.append((name, kind, data))

    def take_batch_result(self, kind: str) -> tuple[str, bytes] | None:
        with self._lock:
            for index, (name, result_kind, data) in enumerate(self._batch_results):
                if result_kind == kind:
                    del self._batch_results[index]
                    return name, data
        return None

    # -- SFTP --

    def _start_sftp(self, port: int) -> None:
        self.sftp_root = self.directory / "sftp"
        (self.sftp_root / "inbound").mkdir(parents=True)
        (self.sftp_root / "outbound").mkdir()
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_key = host_key.export_public_key().decode().strip()
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, name="standin-sftp", daemon=True)
        self._loop_thread.start()

        async def listen() -> asyncssh.SSHAcceptor:
            return await asyncssh.listen(
                self.host,
                port,
                server_host_keys=[host_key],
                server_factory=lambda: _SshServer(self),
                sftp_factory=lambda channel: _SftpServer(channel, self),
                allow_scp=False,
                config=None,
            )

        self._acceptor = asyncio.run_coroutine_threadsafe(listen(), self._loop).result(timeout=30)
        self.sftp_port = self._acceptor.get_port()

    async def answer_upload(self, path: Path) -> None:
        """Answer a file that has just arrived in inbound/, as a clearinghouse picking it up would."""
        if path.parent != self.sftp_root / "inbound" or path.name.startswith(".") or path.name.endswith(
            UNFINISHED_SUFFIXES
        ):
            return
        payload = path.read_bytes()
        suffix = path.name.rsplit(".", 1)[-1] if "." in path.name else ""
        kind = envelope.kind_of(payload, suffix)
        try:
            data = await asyncio.get_running_loop().run_in_executor(self._workers, self.answer, "sftp", payload, kind)
        except Exception:
            log.exception("the stand-in's responder failed on %s", path.name)
            return
        path.unlink(missing_ok=True)  # picked up
        base = path.name.rsplit(".", 1)[0] if "." in path.name else path.name
        for result_kind, answer in _answer_files(data, kind).items():
            target = self.sftp_root / "outbound" / f"{base}.{result_kind}"
            partial = target.with_name(target.name + ".part")  # so no client reads half a file
            partial.write_bytes(answer)
            partial.rename(target)

    # -- shutting down --

    def stop(self) -> None:
        """Stop both servers and remove the temporary files; safe to call twice."""
        if self._https is not None:
            self._https.shutdown()
            self._https.server_close()
            self._https = None
        if self._loop is not None:
            loop = self._loop
            if self._acceptor is not None:
                asyncio.run_coroutine_threadsafe(_close_acceptor(self._acceptor), loop).result(timeout=10)
                self._acceptor = None
            loop.call_soon_threadsafe(loop.stop)
            self._loop_thread.join(timeout=10)
            if not loop.is_running():
                loop.close()
            self._loop = None
        self._workers.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self.directory, ignore_errors=True)


def _answer_files(answer: "bytes | dict[str, bytes] | None", kind: str) -> dict[str, bytes]:
    """The files a responder's answer becomes, by kind (what a request of `kind` is answered with by default)."""
    if answer is None:
        return {}
    return dict(answer) if isinstance(answer, dict) else {envelope.response_kind(kind): answer}


async def _close_acceptor(acceptor: asyncssh.SSHAcceptor) -> None:
    acceptor.close()
    await acceptor.wait_closed()
    current = asyncio.current_task()
    others = [task for task in asyncio.all_tasks() if task is not current]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def _self_signed_certificate(directory: Path, host: str) -> tuple[Path, Path]:
    """A fresh EC key and a certificate for `host`, localhost and 127.0.0.1, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mederi clearinghouse stand-in")])
    alt_names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        address = ipaddress.ip_address(host)
        if str(address) != "127.0.0.1":
            alt_names.append(x509.IPAddress(address))
    except ValueError:
        if host != "localhost":
            alt_names.append(x509.DNSName(host))
    now = dt.datetime.now(dt.timezone.utc)
    subject_key = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(subject_key, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(subject_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "stand-in-cert.pem", directory / "stand-in-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.touch(mode=0o600)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


class _HttpsServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a responder left hanging by a test must not hold up stop()

    def __init__(self, address, handler, context: ssl.SSLContext, standin: StandIn):
        super().__init__(address, handler)
        # The handshake happens on the request's own thread, so one slow client cannot stall the others.
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.standin = standin

    def handle_error(self, request, client_address) -> None:
        log.debug("stand-in HTTPS connection from %s failed", client_address, exc_info=True)


class _CoreHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MederiStandIn/1.0"
    timeout = 30
    server: _HttpsServer

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def log_message(self, format, *args) -> None:
        log.debug("stand-in HTTPS: " + format, *args)

    def do_POST(self) -> None:
        standin = self.server.standin
        if self.path.split("?", 1)[0].rstrip("/") != "/core":
            return self._reply_text(404, "no such endpoint: the CORE endpoint is /core")
        if not self._authorized(standin):
            return self._reply_text(401, "the user name or password is wrong", {"WWW-Authenticate": 'Basic realm="CORE"'})
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            fields = envelope.decode(body, self.headers.get("Content-Type", ""))
        except envelope.EnvelopeError as exc:
            return self._reply_envelope(400, {"ErrorCode": "EnvelopeIncorrect", "ErrorMessage": str(exc)})
        problem = _envelope_problem(fields)
        if problem:
            return self._reply_envelope(400, {"ErrorCode": problem[0], "ErrorMessage": problem[1]}, fields)
        mode, payload_type = envelope.text_field(fields, "ProcessingMode"), envelope.text_field(fields, "PayloadType")
        retrieval_kinds = {value: kind for kind, value in envelope.RETRIEVAL_PAYLOAD_TYPES.items()}
        if mode == envelope.BATCH and payload_type in retrieval_kinds:
            return self._retrieve(standin, retrieval_kinds[payload_type], fields)
        try:
            kind = envelope.kind_from_payload_type(payload_type)
        except envelope.EnvelopeError as exc:
            return self._reply_envelope(400, {"ErrorCode": "PayloadTypeIncorrect", "ErrorMessage": str(exc)}, fields)
        payload = fields.get("Payload", b"")
        try:
            answer = standin.answer("https", payload, kind)
        except Exception as exc:
            log.exception("the stand-in's responder failed")
            return self._reply_text(500, f"the payer system failed: {exc}")
        if mode == envelope.BATCH:
            for result_kind, data in _answer_files(answer, kind).items():
                standin.queue_batch_result(f"{envelope.text_field(fields, 'PayloadID')}.{result_kind}", result_kind, data)
            return self._reply_envelope(200, {"ErrorCode": envelope.SUCCESS, "ErrorMessage": ""}, fields)
        if isinstance(answer, dict):  # real time gets one answer: the one a request of this kind expects
            answer = answer.get(envelope.response_kind(kind))
        if answer is None:
            return self._reply_text(504, "the payer did not answer")
        if standin.realtime_reply == "x12":
            return self._reply(200, answer, "application/edi-x12")
        reply = {
            "PayloadType": _response_payload_type(envelope.response_kind(kind), answer),
            "Payload": answer,
            "ErrorCode": envelope.SUCCESS,
            "ErrorMessage": "",
        }
        return self._reply_envelope(200, reply, fields)

    def _retrieve(self, standin: StandIn, kind: str, request: dict[str, bytes]) -> None:
        found = standin.take_batch_result(kind)
        if found is None:
            reply = {"PayloadType": envelope.NO_BATCH_RESULTS, "ErrorCode": envelope.SUCCESS, "ErrorMessage": ""}
            return self._reply_envelope(200, reply, request)
        name, data = found
        reply = {
            "PayloadType": _response_payload_type(kind, data),
            "PayloadID": name,
            "Payload": data,
            "ErrorCode": envelope.SUCCESS,
            "ErrorMessage": "",
        }
        return self._reply_envelope(200, reply, request)

    def _authorized(self, standin: StandIn) -> bool:
        scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            username, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(username.encode(), standin.username.encode()) & hmac.compare_digest(
            password.encode(), standin.password.encode()
        )

    def _reply_envelope(self, status: int, reply: dict[str, str | bytes], request: dict[str, bytes] | None = None):
        request = request or {}
        fields: dict[str, str | bytes] = {
            "ProcessingMode": envelope.text_field(request, "ProcessingMode") or envelope.REAL_TIME,
            "PayloadType": envelope.text_field(request, "PayloadType"),
            "PayloadID": envelope.text_field(request, "PayloadID") or envelope.new_payload_id(),
            "TimeStamp": envelope.timestamp(),
            "SenderID": envelope.text_field(request, "ReceiverID") or "STANDIN",
            "ReceiverID": envelope.text_field(request, "SenderID"),
            "CORERuleVersion": envelope.CORE_RULE_VERSION,
        }
        fields.update(reply)
        body, content_type = envelope.encode(fields)
        self._reply(status, body, content_type)

    def _reply_text(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        self._reply(status, text.encode(), "text/plain; charset=utf-8", headers)

    def _reply(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


def _envelope_problem(fields: dict[str, bytes]) -> tuple[str, str] | None:
    """The CORE error code and message for an envelope that breaks the rules, or None."""
    for name in REQUIRED_FIELDS:
        if not envelope.text_field(fields, name):
            return f"{name}Required", f"the envelope has no {name}"
    if envelope.text_field(fields, "CORERuleVersion") != envelope.CORE_RULE_VERSION:
        return "VersionMismatch", f"this endpoint speaks CORE rule version {envelope.CORE_RULE_VERSION}"
    if envelope.text_field(fields, "ProcessingMode") not in (envelope.REAL_TIME, envelope.BATCH):
        return "ProcessingModeIncorrect", "ProcessingMode must be RealTime or Batch"
    payload = fields.get("Payload", b"")
    length = envelope.text_field(fields, "PayloadLength")
    if length and length != str(len(payload)):
        return "PayloadLengthMismatch", f"PayloadLength says {length} bytes, the payload has {len(payload)}"
    checksum = envelope.text_field(fields, "Checksum")
    if checksum:
        if checksum.lower() != hashlib.sha1(payload).hexdigest():
            return "ChecksumMismatch", "the payload's SHA-1 checksum does not match the Checksum field"
    return None


def _response_payload_type(kind: str, answer: bytes) -> str:
    try:
        return envelope.payload_type(kind, answer, response=True)
    except envelope.EnvelopeError:
        return f"X12_{kind}_Response"


class _SshServer(asyncssh.SSHServer):
    def __init__(self, standin: StandIn):
        self.standin = standin

    def begin_auth(self, username: str) -> bool:
        return True  # every login needs a password or key

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return hmac.compare_digest(username.encode(), self.standin.username.encode()) & hmac.compare_digest(
            password.encode(), self.standin.password.encode()
        )

    def public_key_auth_supported(self) -> bool:
        return self.standin.authorized_client_key is not None

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        allowed = self.standin.authorized_client_key
        return username == self.standin.username and allowed is not None and key.public_data == allowed.public_data


class _SftpServer(asyncssh.SFTPServer):
    """An SFTP server rooted in the stand-in's folder that answers each file written into inbound/."""

    def __init__(self, channel: asyncssh.SSHServerChannel, standin: StandIn):
        super().__init__(channel, chroot=str(standin.sftp_root).encode())
        self.standin = standin
        self.written: dict[object, Path] = {}

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs):
        file_obj = super().open(path, pflags, attrs)
        if pflags & asyncssh.FXF_WRITE:
            self.written[file_obj] = Path(self.map_path(path).decode())
        return file_obj

    def open56(self, path: bytes, desired_access: int, flags: int, attrs: asyncssh.SFTPAttrs):
        file_obj = super().open56(path, desired_access, flags, attrs)
        if desired_access & (asyncssh.ACE4_WRITE_DATA | asyncssh.ACE4_APPEND_DATA):
            self.written[file_obj] = Path(self.map_path(path).decode())
        return file_obj

    async def close(self, file_obj: object) -> None:
        super().close(file_obj)
        path = self.written.pop(file_obj, None)
        if path is not None:
            await self.standin.answer_upload(path)

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        super().rename(oldpath, newpath)
        await self.standin.answer_upload(Path(self.map_path(newpath).decode()))

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        super().posix_rename(oldpath, newpath)
        await self.standin.answer_upload(Path(self.map_path(newpath).decode()))


def _load_responder(spec: str | None, response_file: str | None) -> Responder:
    if spec:
        module_name, _, function_name = spec.partition(":")
        if not function_name:
            raise SystemExit("--responder takes module:function, e.g. mypackage.payer:answer")
        return getattr(importlib.import_module(module_name), function_name)
    if response_file:
        answer = Path(response_file).read_bytes()
        return lambda payload, kind: answer
    return echo_responder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mederi.billing.clearinghouse.standin",
        description="Run a local clearinghouse stand-in (HTTPS with CORE envelopes, and SFTP) until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="HTTPS port (default: a free one)")
    parser.add_argument("--sftp-port", type=int, default=0, help="SFTP port (default: a free one)")
    parser.add_argument("--username", default="mederi")
    parser.add_argument("--password", default="stand-in")
    parser.add_argument("--response-file", help="answer every request with this file's bytes")
    parser.add_argument("--responder", help="module:function called as function(payload, kind) -> bytes")
    args = parser.parse_args(argv)
    responder = _load_responder(args.responder, args.response_file)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    standin = StandIn(
        responder, username=args.username, password=args.password, host=args.host,
        https_port=args.port, sftp_port=args.sftp_port,
    )
    with standin:
        print(f"HTTPS (CORE) endpoint: {standin.https_url}")
        print(f"  trust this certificate: {standin.ca_file}")
        print(f"SFTP: {args.host} port {standin.sftp_port}, folders inbound/ and outbound/")
        print(f"  host key: {standin.host_key}")
        print(f"user name {standin.username!r}, password {standin.password!r}; Ctrl-C stops")
        try:
            while not stopping.wait(timeout=0.5):  # a timed wait, so Ctrl-C is noticed promptly
                pass
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
