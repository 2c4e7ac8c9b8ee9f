"""A clearinghouse reached over SFTP: batch files go into one folder, responses come out of another.

Many clearinghouses offer only this. A batch file is uploaded into the inbound folder; the
clearinghouse later writes its answers (999 acknowledgements, 271s, 277s, 835s) into the outbound
folder, named after the file they answer. A real-time request is the same thing done at once:
upload, then watch the outbound folder for the answer until the timeout.

The server's host key must be given (an OpenSSH public key line, as in known_hosts or a .pub
file); a server offering any other key is refused before a password or key is sent.
"""

import asyncio
import re
import stat
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import asyncssh

from .base import ClearinghouseError, Connector, seconds

T = TypeVar("T")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
# Files a server is still writing, by the usual conventions; they are left for a later fetch.
UNFINISHED_SUFFIXES = (".part", ".tmp", ".filepart")


def stem(name: str) -> str:
    """A file name without its last suffix: "elig-0001.270" -> "elig-0001"."""
    return name.rsplit(".", 1)[0] if "." in name else name


class SftpConnector(Connector):
    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str | None = None,
        *,
        known_host_key: str,
        private_key: str | None = None,
        passphrase: str | None = None,
        inbound_dir: str = "inbound",
        outbound_dir: str = "outbound",
        timeout: float = 30,
        poll_interval: float = 1.0,
    ):
        if not password and not private_key:
            raise ClearinghouseError("the payer settings need an SFTP password or a private key")
        try:
            self.host_key = asyncssh.import_public_key(known_host_key.strip())
        except (asyncssh.KeyImportError, ValueError):
            raise ClearinghouseError(
                "the SSH host key in the payer settings is not an OpenSSH public key line "
                "(it should look like 'ssh-ed25519 AAAA...')"
            ) from None
        self.client_key = None
        if private_key:
            try:
                self.client_key = asyncssh.import_private_key(private_key, passphrase)
            except (asyncssh.KeyImportError, ValueError) as exc:
                raise ClearinghouseError(f"the SFTP private key in the payer settings cannot be read: {exc}") from None
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.inbound_dir = inbound_dir.rstrip("/") or "."
        self.outbound_dir = outbound_dir.rstrip("/") or "."
        self.timeout = timeout
        self.poll_interval = poll_interval

    def __repr__(self) -> str:
        return f"SftpConnector({self.host!r}, {self.port}, username={self.username!r})"

    def exchange(self, payload: bytes, *, kind: str) -> bytes:
        name = f"{uuid.uuid4().hex}.{kind}"

        async def upload_and_wait(sftp: asyncssh.SFTPClient) -> bytes:
            await self._upload(sftp, name, payload)
            deadline = time.monotonic() + self.timeout
            while True:
                answers = [n for n in await self._listing(sftp) if stem(n) == stem(name)]
                if answers:
                    data = await self._download(sftp, answers[0])
                    try:  # so that a later fetch_responses does not hand it out again
                        await sftp.remove(f"{self.outbound_dir}/{answers[0]}")
                    except asyncssh.SFTPError:
                        pass
                    return data
                if time.monotonic() >= deadline:
                    raise ClearinghouseError(
                        f"the clearinghouse did not answer within {seconds(self.timeout)}", retryable=True
                    )
                await asyncio.sleep(self.poll_interval)

        return self._run(upload_and_wait)

    def submit_batch(self, payload: bytes, *, name: str) -> str:
        if not SAFE_NAME.fullmatch(name):
            raise ClearinghouseError(
                f"the batch file name {name!r} must be letters, digits, dots, dashes or underscores (no folders)"
            )

        async def upload(sftp: asyncssh.SFTPClient) -> str:
            await self._upload(sftp, name, payload)
            return name

        return self._run(upload)

    def fetch_responses(self, since_names: set[str] | None = None) -> list[tuple[str, bytes]]:
        skip = since_names or set()

        async def download_new(sftp: asyncssh.SFTPClient) -> list[tuple[str, bytes]]:
            names = [name for name in await self._listing(sftp) if name not in skip]
            return [(name, await self._download(sftp, name)) for name in names]

        return self._run(download_new)

    # -- the SFTP steps, each bounded by the timeout --

    async def _upload(self, sftp: asyncssh.SFTPClient, name: str, payload: bytes) -> None:
        async def write() -> None:
            async with sftp.open(f"{self.inbound_dir}/{name}", "wb") as remote:
                await remote.write(payload)

        await self._bounded(write(), f"upload {name} into {self.inbound_dir}/")

    async def _listing(self, sftp: asyncssh.SFTPClient) -> list[str]:
        entries = await self._bounded(sftp.readdir(self.outbound_dir), f"list {self.outbound_dir}/")
        names = []
        for entry in entries:
            name = entry.filename if isinstance(entry.filename, str) else entry.filename.decode()
            permissions = entry.attrs.permissions
            if name.startswith(".") or name.endswith(UNFINISHED_SUFFIXES):
                continue
            if permissions is not None and not stat.S_ISREG(permissions):
                continue
            names.append(name)
        return sorted(names)

    async def _download(self, sftp: asyncssh.SFTPClient, name: str) -> bytes:
        async def read() -> bytes:
            async with sftp.open(f"{self.outbound_dir}/{name}", "rb") as remote:
                return await remote.read()

        return await self._bounded(read(), f"download {name} from {self.outbound_dir}/")

    async def _bounded(self, step: Awaitable[T], action: str) -> T:
        try:
            return await asyncio.wait_for(step, self.timeout)
        except asyncssh.SFTPError as exc:
            raise ClearinghouseError(f"the SFTP server would not let us {action}: {exc.reason}") from None

    # -- connecting, and turning every failure into a ClearinghouseError --

    def _run(self, work: Callable[[asyncssh.SFTPClient], Awaitable[T]]) -> T:
        async def session() -> T:
            async with await self._connect() as connection:
                async with connection.start_sftp_client() as sftp:
                    return await work(sftp)

        async def guarded() -> T:
            try:
                return await session()
            except (ClearinghouseError, asyncio.CancelledError):
                raise
            except Exception as exc:
                error = await self._explain(exc)
                if error is None:
                    raise
                raise error from None

        return _run_sync(guarded)

    async def _explain(self, exc: Exception) -> ClearinghouseError | None:
        """The ClearinghouseError a person should see for a failure; None for a bug of ours."""
        host_key_refused = isinstance(exc, asyncssh.HostKeyNotVerifiable) or (
            # the server offers no key of the type in the payer settings
            isinstance(exc, asyncssh.KeyExchangeFailed) and "host key" in exc.reason.lower()
        )
        if host_key_refused:
            return ClearinghouseError(await self._host_key_message())
        if isinstance(exc, asyncssh.PermissionDenied):
            return ClearinghouseError(
                "the clearinghouse refused the login: check the user name and password (or key) in the payer settings"
            )
        if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
            return ClearinghouseError(f"the clearinghouse did not answer within {seconds(self.timeout)}", retryable=True)
        if isinstance(exc, asyncssh.SFTPError):
            return ClearinghouseError(f"the SFTP server refused the request: {exc.reason}")
        if isinstance(exc, asyncssh.KeyExchangeFailed):
            return ClearinghouseError(
                f"could not agree on encryption with {self.host}:{self.port}: {exc.reason}; "
                "the clearinghouse's SSH server may need a newer setup"
            )
        if isinstance(exc, asyncssh.DisconnectError):
            return ClearinghouseError(
                f"the SSH connection to {self.host}:{self.port} was closed: {exc.reason}", retryable=True
            )
        if isinstance(exc, OSError):
            return ClearinghouseError(
                f"could not reach the clearinghouse at {self.host}:{self.port} ({exc.strerror or exc})", retryable=True
            )
        return None

    async def _connect(self) -> asyncssh.SSHClientConnection:
        return await asyncssh.connect(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            client_keys=[self.client_key] if self.client_key else (),
            passphrase=None,
            known_hosts=([self.host_key], [], []),
            # Accept any key type in the handshake, so a server holding another type of key fails the
            # host key check (a clear message) rather than the negotiation (a dropped connection).
            server_host_key_algs="default",
            agent_path=None,
            config=None,
            connect_timeout=self.timeout,
            login_timeout=self.timeout,
        )

    async def _host_key_message(self) -> str:
        expected = self.host_key.get_fingerprint("sha256")
        offered = ""
        try:  # a second look, without logging in, so the message can show what the server offered
            key = await asyncio.wait_for(
                asyncssh.get_server_host_key(self.host, self.port, config=None), self.timeout
            )
            if key is not None:
                offered = f"it offered {key.get_fingerprint('sha256')}, "
        except (OSError, asyncssh.Error, asyncio.TimeoutError):
            pass
        return (
            f"the SSH host key of {self.host}:{self.port} is not the one in the payer settings "
            f"({offered}expected {expected}): refusing to connect. If the clearinghouse has changed its key, "
            "confirm the new one with them and update the payer settings"
        )


def _run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from ordinary code, even when called inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
