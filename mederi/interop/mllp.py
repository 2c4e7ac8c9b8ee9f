"""MLLP (the Minimal Lower Layer Protocol) over TCP: how HL7 v2 messages travel.

Each message is framed as 0x0B, the message bytes, 0x1C 0x0D. The listener reads frames from any
number of connections, each possibly carrying several messages, in pieces of any size; it
answers each message with the handler's reply, in order. A frame larger than `max_bytes`, bytes
outside a frame, or a connection silent for `idle_timeout` seconds ends that connection (after a
refusal for the first two). Handlers run one at a time on one worker thread, so messages are
stored in the order they arrived and the database sees one writer.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

START, END = b"\x0b", b"\x1c\x0d"
MAX_BYTES = 4 * 1024 * 1024
_BETWEEN_FRAMES = b"\r\n \t"  # some senders put line breaks between frames; nothing else is allowed

log = logging.getLogger(__name__)


class FrameError(ValueError):
    """The bytes on the wire are not MLLP frames (or one is too large)."""


class MllpUnreachable(ConnectionError):
    """The other side could not be reached, or closed before the message was sent: safe to retry."""


class MllpNoAnswer(TimeoutError):
    """The message went out but no answer came back in time: it may have been received."""


def frame(payload: bytes) -> bytes:
    return START + payload + END


class FrameReader:
    """Collects bytes as they arrive and hands back each complete message."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self._inside = False

    @property
    def pending(self) -> bool:
        """A frame has started and not ended."""
        return self._inside

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        messages = []
        while True:
            if not self._inside:
                start = self._buffer.find(START)
                stray = self._buffer[:start if start >= 0 else len(self._buffer)]
                if bytes(stray).strip(_BETWEEN_FRAMES):
                    raise FrameError(f"{len(stray)} bytes arrived outside an MLLP frame (a frame starts with 0x0B)")
                if start < 0:
                    self._buffer.clear()
                    return messages
                del self._buffer[:start + 1]
                self._inside = True
            end = self._buffer.find(END)
            body = self._buffer if end < 0 else self._buffer[:end]
            if START in body:
                raise FrameError("a frame started before the previous one ended (with 0x1C 0x0D)")
            if len(body) > self.max_bytes:
                raise FrameError(f"the message is larger than the {self.max_bytes} bytes accepted")
            stray_end = body.find(b"\x1c")
            if 0 <= stray_end < len(self._buffer) - 1 and (end < 0 or stray_end < end):
                raise FrameError("0x1C must be followed by 0x0D to end a frame")
            if end < 0:
                return messages
            messages.append(bytes(body))
            del self._buffer[:end + 2]
            self._inside = False


class MllpServer:
    """An asyncio MLLP listener. `handler(payload) -> reply bytes`; `refuse(reason) -> reply` for bad frames."""

    def __init__(self, handler: Callable[[bytes], bytes], refuse: Callable[[str, bytes], bytes], *,
                 host: str = "127.0.0.1", port: int = 2575, idle_timeout: float = 60.0, max_bytes: int = MAX_BYTES):
        self.handler, self.refuse = handler, refuse
        self.host, self.port, self.idle_timeout, self.max_bytes = host, port, idle_timeout, max_bytes
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mllp-handler")
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]  # the real one when asked for port 0

    async def serve_forever(self, on_ready: Callable[[int], None] | None = None) -> None:
        await self.start()
        if on_ready is not None:
            on_ready(self.port)
        async with self._server:
            await self._server.serve_forever()

    async def _run(self, function, *args) -> bytes:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = FrameReader(self.max_bytes)
        peer = writer.get_extra_info("peername")
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(65536), self.idle_timeout)
                except TimeoutError:
                    log.info("MLLP %s: closed after %ss without a complete message", peer, self.idle_timeout)
                    return
                if not data:
                    return
                try:
                    messages = frames.feed(data)
                except FrameError as error:
                    log.warning("MLLP %s: %s", peer, error)
                    writer.write(frame(await self._run(self.refuse, str(error), bytes(data[:65536]))))
                    await writer.drain()
                    return
                for message in messages:
                    writer.write(frame(await self._run(self.handler, message)))
                    await writer.drain()
        except (ConnectionError, OSError) as error:
            log.info("MLLP %s: connection lost (%s)", peer, error)
        finally:
            writer.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._executor.shutdown(wait=False)


class ServerThread:
    """An MllpServer on its own event loop in a background thread (tests, the lab stand-in)."""

    def __init__(self, server: MllpServer):
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="mllp-server", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self.server.start())
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> "ServerThread":
        self._thread.start()
        self._ready.wait(10)
        return self

    @property
    def port(self) -> int:
        return self.server.port

    async def _shutdown(self) -> None:
        self.server.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


class MllpClient:
    """One connection to an MLLP listener; `send` waits for the answer to each message."""

    def __init__(self, host: str, port: int, timeout: float = 30.0, max_bytes: int = MAX_BYTES):
        self.host, self.port, self.timeout, self.max_bytes = host, port, timeout, max_bytes
        self._socket: socket.socket | None = None
        self._frames = FrameReader(max_bytes)
        self._answers: list[bytes] = []

    def __enter__(self) -> "MllpClient":
        try:
            self._socket = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as error:
            raise MllpUnreachable(f"could not connect to {self.host}:{self.port} ({error})") from error
        return self

    def __exit__(self, *exc) -> None:
        if self._socket is not None:
            self._socket.close()

    def send(self, payload: bytes) -> bytes:
        try:
            self._socket.sendall(frame(payload))
        except OSError as error:
            raise MllpUnreachable(f"{self.host}:{self.port} closed the connection ({error})") from error
        try:
            while not self._answers:
                data = self._socket.recv(65536)
                if not data:
                    raise MllpNoAnswer(f"{self.host}:{self.port} closed the connection without answering")
                self._answers += self._frames.feed(data)
        except TimeoutError as error:
            raise MllpNoAnswer(f"{self.host}:{self.port} did not answer within {self.timeout:g} s") from error
        except OSError as error:
            raise MllpNoAnswer(f"{self.host}:{self.port} dropped the connection before answering ({error})") from error
        return self._answers.pop(0)


def send_message(host: str, port: int, payload: bytes, timeout: float = 30.0) -> bytes:
    """Open a connection, send one message, return the answer's bytes."""
    with MllpClient(host, port, timeout) as client:
        return client.send(payload)
