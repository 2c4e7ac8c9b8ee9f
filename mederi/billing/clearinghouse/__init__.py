"""Connectors to clearinghouses: real-time X12 exchanges (270/271) and batch files (837, 999, 835).

`Connector` is the interface; `https.HttpsConnector` (CAQH CORE envelopes over HTTPS) and
`sftp.SftpConnector` (files over SFTP) are the transports; `standin.StandIn` is a local
clearinghouse that speaks both, for tests and demos.
"""

from .base import ClearinghouseError, Connector

__all__ = ["ClearinghouseError", "Connector"]
