"""The one interface every clearinghouse transport offers, and the error it raises.

Eligibility checks and claims talk to a payer through a clearinghouse. How the bytes travel (an
HTTPS POST in the CAQH CORE style, or files on an SFTP server) is the connector's business; the
callers only hand over X12 bytes and get X12 bytes back.
"""

from abc import ABC, abstractmethod


class ClearinghouseError(Exception):
    """The clearinghouse could not be used; the message says what a person can do about it.

    `retryable` is True when the same request may well succeed later unchanged (the server was
    down, slow or overloaded), False when someone has to fix something first (a password, a
    certificate, a host key, the request itself).
    """

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.retryable = retryable

    def __repr__(self) -> str:
        return f"ClearinghouseError({self.message!r}, retryable={self.retryable})"


class Connector(ABC):
    """A way to reach one clearinghouse.

    Every method either returns what the clearinghouse sent or raises `ClearinghouseError`;
    no other exception escapes for a network, TLS, SSH or protocol failure.
    """

    @abstractmethod
    def exchange(self, payload: bytes, *, kind: str) -> bytes:
        """Send one real-time request (kind "270", "276", ...) and return the response (the 271, 277, ...)."""

    @abstractmethod
    def submit_batch(self, payload: bytes, *, name: str) -> str:
        """Hand over a batch file; return the name the clearinghouse knows it by.

        A response file fetched later is named after it: the same name with its last suffix
        replaced by the response's kind ("elig-0001.270" is answered by "elig-0001.271").
        """

    @abstractmethod
    def fetch_responses(self, since_names: set[str] | None = None) -> list[tuple[str, bytes]]:
        """Download the response files whose names are not in `since_names`, as (name, bytes) pairs."""


def seconds(value: float) -> str:
    """A timeout as people write it: 30 s, 0.5 s."""
    return f"{value:g} s"
