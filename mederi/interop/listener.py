"""The commands around the MLLP listener: `mederi mllp-listen` and `mederi mllp-send FILE`."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections

from mederi.interop import inbound
from mederi.interop.hl7 import HL7Error, parse
from mederi.interop.hl7.ack import parse_acknowledgement
from mederi.interop.mllp import MllpClient, MllpNoAnswer, MllpServer, MllpUnreachable

DEFAULT_PORT = 2575  # the port IANA lists for HL7 over MLLP
_MESSAGE_START = re.compile(r"(?m)^(?=MSH)")


def listener_settings() -> tuple[str, int, float, int]:
    return (getattr(settings, "MEDERI_MLLP_HOST", "127.0.0.1"), int(getattr(settings, "MEDERI_MLLP_PORT", DEFAULT_PORT)),
            float(getattr(settings, "MEDERI_MLLP_IDLE_SECONDS", 60)),
            int(getattr(settings, "MEDERI_MLLP_MAX_BYTES", 4 * 1024 * 1024)))


def _handle(raw: bytes) -> bytes:
    close_old_connections()  # a long-lived worker thread: drop a connection the database closed
    return inbound.receive(raw)


def build_server(host: str, port: int) -> MllpServer:
    _, _, idle, max_bytes = listener_settings()
    return MllpServer(_handle, inbound.refuse_frame, host=host, port=port, idle_timeout=idle, max_bytes=max_bytes)


def listen(host: str, port: int) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = build_server(host, port)

    def ready(bound: int) -> None:
        print(f"Listening for HL7 results (ORU^R01) over MLLP on {host}:{bound}; Ctrl-C stops", flush=True)

    try:
        asyncio.run(server.serve_forever(ready))
    except KeyboardInterrupt:
        print("stopped")
    except OSError as error:
        print(f"error: cannot listen on {host}:{port} ({error})", file=sys.stderr)
        return 2
    return 0


def messages_in(text: str) -> list[str]:
    """The messages of a file: each starts at a line beginning with MSH."""
    text = text.lstrip("\ufeff")
    return [part for part in _MESSAGE_START.split(text) if part.startswith("MSH")]


def send_file(path: Path, host: str, port: int, timeout: float = 30.0) -> int:
    """Send every message of a file over one connection; print each answer. 0 when all were accepted."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as error:
        print(f"error: cannot read {path}: {error.strerror}", file=sys.stderr)
        return 2
    messages = messages_in(text)
    if not messages:
        print(f"error: {path} holds no HL7 message (none starts with MSH)", file=sys.stderr)
        return 2
    refused = 0
    try:
        with MllpClient(host, port, timeout) as client:
            for number, message in enumerate(messages, start=1):
                # Segments end with CR on the wire, whatever the file used.
                wire = "\r".join(line for line in re.split(r"\r\n|\r|\n", message) if line) + "\r"
                answer = client.send(wire.encode("utf-8"))
                try:
                    code, reason = parse_acknowledgement(parse(answer))
                except HL7Error as error:
                    code, reason = "??", f"unreadable answer: {error}"
                refused += code not in ("AA", "CA")
                print(f"message {number}: {code}" + (f" {reason}" if reason else ""))
    except (MllpUnreachable, MllpNoAnswer) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 1 if refused else 0
