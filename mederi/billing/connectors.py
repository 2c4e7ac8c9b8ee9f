"""The clearinghouse connector for a payer, built from its `PayerConnection` row.

"https" and "sftp" give the real transports of `mederi.billing.clearinghouse`; "standin" runs the
demo payer (`standin_payer.demo_responder`) in this process, with no sockets at all, so the demo
practice can check eligibility on a machine that reaches no network.
"""

from __future__ import annotations

from collections.abc import Callable

from mederi.billing.clearinghouse import ClearinghouseError, Connector
from mederi.billing.clearinghouse.https import HttpsConnector
from mederi.billing.clearinghouse.sftp import SftpConnector
from mederi.billing.models import PayerConnection

# How often a real-time SFTP exchange looks for the answer file.
SFTP_POLL_SECONDS = 0.25
DEFAULT_SFTP_PORT = 22

Responder = Callable[[bytes, str], "bytes | None"]


class InProcessConnector(Connector):
    """A payer answering in this process: the responder is called directly with the request's bytes."""

    def __init__(self, responder: Responder, name: str = "the stand-in payer"):
        self.responder = responder
        self.name = name

    def __repr__(self) -> str:
        return f"InProcessConnector({self.name!r})"

    def exchange(self, payload: bytes, *, kind: str) -> bytes:
        try:
            answer = self.responder(payload, kind)
        except Exception as exc:  # the stand-in's own failure reaches the caller as a connector failure
            raise ClearinghouseError(f"{self.name} failed while answering: {exc}") from None
        if not answer:
            raise ClearinghouseError(f"{self.name} gave no answer", retryable=True)
        return answer

    def submit_batch(self, payload: bytes, *, name: str) -> str:
        # The in-process stand-in takes any file and keeps nothing: what was sent is stored as an Interchange.
        return name

    def fetch_responses(self, since_names: set[str] | None = None) -> list[tuple[str, bytes]]:
        return []


def connector_for(connection: PayerConnection) -> Connector:
    """The connector that reaches the payer of `connection`; raises ClearinghouseError when it can't be built."""
    if connection.transport == PayerConnection.HTTPS:
        return HttpsConnector(
            connection.url,
            connection.username,
            connection.password,
            timeout=connection.timeout_seconds,
            ca_file=connection.ca_file or None,
            sender_id=connection.sender_id,
            receiver_id=connection.receiver_id,
        )
    if connection.transport == PayerConnection.SFTP:
        return SftpConnector(
            connection.host,
            connection.port or DEFAULT_SFTP_PORT,
            connection.username,
            connection.password or None,
            known_host_key=connection.host_key,
            timeout=connection.timeout_seconds,
            poll_interval=SFTP_POLL_SECONDS,
        )
    if connection.transport == PayerConnection.STANDIN:
        from mederi.billing.standin_payer import demo_responder

        return InProcessConnector(demo_responder)
    raise ClearinghouseError(f"the payer settings name an unknown transport {connection.transport!r}")
