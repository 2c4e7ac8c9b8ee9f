"""A clearinghouse reached over HTTPS with CAQH CORE connectivity envelopes.

Each request is a POST whose body is a multipart/form-data envelope (ProcessingMode, PayloadType,
PayloadID, TimeStamp, SenderID, ReceiverID, CORERuleVersion, Payload), sent with HTTP Basic
authentication. The answer is an envelope whose Payload field holds the X12 response; some
clearinghouses answer a real-time request with the bare X12 instead, which is accepted too.

TLS certificates are always verified; `ca_file` names the certificate(s) to trust when the
clearinghouse uses a private certificate authority (the local stand-in does).
"""

import hashlib
import re
from pathlib import Path
from urllib.parse import urlsplit

import requests

from . import envelope
from .base import ClearinghouseError, Connector, seconds

# A retrieval loop stops after this many files in one call, even if the server has more.
MAX_FILES_PER_FETCH = 200


class HttpsConnector(Connector):
    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        timeout: float = 30,
        ca_file: str | Path | None = None,
        *,
        sender_id: str | None = None,
        receiver_id: str | None = None,
        result_kinds: tuple[str, ...] = ("999", "271", "277"),
    ):
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise ClearinghouseError(
                f"the clearinghouse address {url!r} must be a full https:// address: "
                "eligibility data is never sent without TLS"
            )
        unknown = [kind for kind in result_kinds if kind not in envelope.RETRIEVAL_PAYLOAD_TYPES]
        if unknown:
            raise ClearinghouseError(f"there is no batch retrieval request for {', '.join(unknown)} files")
        self.url = url
        self.username = username
        self.password = password
        self.timeout = timeout
        self.ca_file = Path(ca_file) if ca_file else None
        self.sender_id = sender_id or username
        self.receiver_id = receiver_id or parts.hostname
        self.result_kinds = result_kinds

    def __repr__(self) -> str:
        return f"HttpsConnector({self.url!r}, username={self.username!r})"

    def exchange(self, payload: bytes, *, kind: str) -> bytes:
        fields = self._post(self._envelope(envelope.REAL_TIME, envelope.payload_type(kind, payload), payload))
        answer = fields.get("Payload", b"")
        if not answer.strip():
            raise ClearinghouseError("the clearinghouse answered the real-time request without a payload")
        return answer

    def submit_batch(self, payload: bytes, *, name: str) -> str:
        suffix = name.rsplit(".", 1)[-1] if "." in name else ""
        try:
            payload_type = envelope.payload_type(envelope.kind_of(payload, suffix), payload)
        except envelope.EnvelopeError:
            raise ClearinghouseError(
                f"cannot tell which X12 transaction the batch file {name!r} holds (no ST segment and no known suffix)"
            ) from None
        fields = self._envelope(envelope.BATCH, payload_type, payload)
        fields["PayloadLength"] = str(len(payload))
        fields["Checksum"] = hashlib.sha1(payload).hexdigest()  # the digest CORE rule 2.2.0 names
        self._post(fields)
        return fields["PayloadID"]

    def fetch_responses(self, since_names: set[str] | None = None) -> list[tuple[str, bytes]]:
        seen = set(since_names or ())
        files: list[tuple[str, bytes]] = []
        for kind in self.result_kinds:
            retrieval = envelope.RETRIEVAL_PAYLOAD_TYPES[kind]
            while len(files) < MAX_FILES_PER_FETCH:
                fields = self._post(self._envelope(envelope.BATCH, retrieval, b""))
                answer = fields.get("Payload", b"")
                if envelope.text_field(fields, "PayloadType") == envelope.NO_BATCH_RESULTS or not answer.strip():
                    break
                name = envelope.text_field(fields, "PayloadID") or f"{envelope.new_payload_id()}.{kind}"
                if name in seen:  # a server that hands out the same file again has nothing new
                    break
                seen.add(name)
                files.append((name, answer))
        return files

    def _envelope(self, mode: str, payload_type: str, payload: bytes) -> dict[str, str | bytes]:
        return {
            "ProcessingMode": mode,
            "PayloadType": payload_type,
            "PayloadID": envelope.new_payload_id(),
            "TimeStamp": envelope.timestamp(),
            "SenderID": self.sender_id,
            "ReceiverID": self.receiver_id,
            "CORERuleVersion": envelope.CORE_RULE_VERSION,
            "Payload": payload,
        }

    def _post(self, fields: dict[str, str | bytes]) -> dict[str, bytes]:
        """POST one envelope; return the answer's fields, or raise ClearinghouseError."""
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ClearinghouseError(f"the certificate file {self.ca_file} named in the payer settings does not exist")
        body, content_type = envelope.encode(fields)
        try:
            response = requests.post(
                self.url,
                data=body,
                headers={"Content-Type": content_type, "Accept": "multipart/form-data, application/edi-x12"},
                auth=(self.username, self.password),
                timeout=self.timeout,
                verify=str(self.ca_file) if self.ca_file else True,
                allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            raise ClearinghouseError(
                f"could not verify the TLS certificate of {self.url} ({_tls_reason(exc)}); if the clearinghouse "
                "uses a private certificate authority, give its certificate file in the payer settings"
            ) from None
        except requests.exceptions.Timeout:
            raise ClearinghouseError(
                f"the clearinghouse did not answer within {seconds(self.timeout)}", retryable=True
            ) from None
        except requests.exceptions.ConnectionError as exc:
            raise ClearinghouseError(
                f"could not reach the clearinghouse at {self.url} ({_connection_reason(exc)})", retryable=True
            ) from None
        except requests.exceptions.RequestException as exc:
            raise ClearinghouseError(f"the request to {self.url} failed: {exc}") from None
        return self._read(response)

    def _read(self, response: requests.Response) -> dict[str, bytes]:
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        if status in (401, 403):
            raise ClearinghouseError(
                "the clearinghouse refused the login: check the user name and password in the payer settings"
            )
        fields = _fields_or_none(response.content, content_type)
        if not 200 <= status < 300:
            detail = _error_text(fields) or _snippet(response.text)
            retryable = status in (408, 429) or status >= 500
            raise ClearinghouseError(
                f"the clearinghouse answered HTTP {status}: {detail or response.reason or 'no details'}",
                retryable=retryable,
            )
        if fields is None:
            if envelope.media_type(content_type) in ("application/edi-x12", "application/edi", "text/plain") and (
                response.content.lstrip().startswith(b"ISA")
            ):
                return {"Payload": response.content}
            raise ClearinghouseError(
                f"the clearinghouse's answer could not be read: expected a CORE envelope, got "
                f"{envelope.media_type(content_type) or 'no content type'}"
            )
        code = envelope.text_field(fields, "ErrorCode")
        if code and code != envelope.SUCCESS:
            message = envelope.text_field(fields, "ErrorMessage") or "no details given"
            retryable = any(word in code.lower() for word in ("unavailable", "busy", "timeout"))
            raise ClearinghouseError(f"the clearinghouse turned the request down ({code}): {message}", retryable=retryable)
        return fields


def _fields_or_none(body: bytes, content_type: str) -> dict[str, bytes] | None:
    if not envelope.media_type(content_type).startswith("multipart/"):
        return None
    try:
        return envelope.decode(body, content_type)
    except envelope.EnvelopeError as exc:
        raise ClearinghouseError(f"the clearinghouse's answer could not be read: {exc}") from None


def _error_text(fields: dict[str, bytes] | None) -> str:
    if not fields:
        return ""
    code, message = envelope.text_field(fields, "ErrorCode"), envelope.text_field(fields, "ErrorMessage")
    return f"{code}: {message}" if code and message else code or message


def _snippet(text: str, limit: int = 200) -> str:
    text = re.sub(r"<[^>]+>", " ", text)  # error pages are often HTML
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tls_reason(exc: Exception) -> str:
    text = str(exc)
    match = re.search(r"certificate verify failed: ([^(\"')]+)", text)
    if match:
        return "certificate verify failed: " + match.group(1).strip()
    return "TLS handshake failed"


def _connection_reason(exc: Exception) -> str:
    text = str(exc)
    for marker, reason in (
        ("Connection refused", "connection refused: is the server running?"),
        ("Name or service not known", "the host name is unknown"),
        ("nodename nor servname", "the host name is unknown"),
        ("Temporary failure in name resolution", "the host name could not be looked up"),
        ("Connection reset", "the connection was reset"),
        ("RemoteDisconnected", "the server closed the connection without answering"),
    ):
        if marker in text:
            return reason
    return "network error"
