"""MLLP framing and the TCP listener and client, over real sockets on this machine."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mederi.interop.mllp import (
    END,
    START,
    FrameError,
    FrameReader,
    MllpClient,
    MllpNoAnswer,
    MllpServer,
    MllpUnreachable,
    ServerThread,
    frame,
    send_message,
)


def echo(payload: bytes) -> bytes:
    return b"ACK " + payload


def refuse(reason: str, raw: bytes) -> bytes:
    return f"REFUSED {reason}".encode()


@pytest.fixture
def listener():
    with ServerThread(MllpServer(echo, refuse, port=0, idle_timeout=2, max_bytes=1000)) as running:
        yield running


def read_answers(sock: socket.socket, count: int) -> list[bytes]:
    reader, answers = FrameReader(), []
    while len(answers) < count:
        data = sock.recv(4096)
        if not data:
            break
        answers += reader.feed(data)
    return answers


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=50).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b"")), max_size=5),
       st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=10))
def test_frames_come_out_whole_however_the_bytes_are_cut(payloads, cuts):
    stream = b"".join(frame(p) + b"\r\n" for p in payloads)
    reader, found, position, i = FrameReader(), [], 0, 0
    while position < len(stream):
        size = cuts[i % len(cuts)]
        found += reader.feed(stream[position:position + size])
        position, i = position + size, i + 1
    assert found == payloads and not reader.pending


@pytest.mark.parametrize("data, words", [
    (b"hello" + frame(b"x"), "outside an MLLP frame"),
    (START + b"abc" + START + b"def" + END, "started before the previous one ended"),
    (START + b"abc\x1cdef" + END, "0x1C must be followed by 0x0D"),
    (START + b"x" * 1001, "larger than the 1000 bytes"),
])
def test_bad_frames_are_refused_with_the_reason(data, words):
    with pytest.raises(FrameError, match=words):
        FrameReader(max_bytes=1000).feed(data)


def test_several_messages_on_one_connection_are_answered_in_order(listener):
    with MllpClient("127.0.0.1", listener.port, timeout=5) as client:
        assert [client.send(f"message {n}".encode()) for n in range(5)] == [
            f"ACK message {n}".encode() for n in range(5)]


def test_a_message_sent_in_pieces_and_two_at_once_are_both_answered(listener):
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        first = frame(b"first")
        for byte in first:  # one byte at a time
            sock.sendall(bytes([byte]))
        assert read_answers(sock, 1) == [b"ACK first"]
        sock.sendall(frame(b"second") + frame(b"third"))
        assert read_answers(sock, 2) == [b"ACK second", b"ACK third"]


@pytest.mark.parametrize("data, words", [
    (b"GET / HTTP/1.1\r\n\r\n", b"outside an MLLP frame"),
    (START + b"y" * 2000, b"larger than the 1000 bytes"),
])
def test_garbage_and_oversize_frames_get_a_refusal_and_the_connection_ends(listener, data, words):
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.sendall(data)
        (answer,) = read_answers(sock, 1)
        assert answer.startswith(b"REFUSED") and words in answer
        assert sock.recv(100) == b""  # closed


def test_a_silent_connection_is_closed_after_the_idle_timeout(listener):
    with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as sock:
        sock.sendall(START + b"never ends")
        assert sock.recv(100) == b""


def test_the_client_says_when_nobody_listens_or_nobody_answers():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(MllpUnreachable, match="could not connect"):
        send_message("127.0.0.1", port, b"x", timeout=2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(MllpNoAnswer, match="did not answer within 0.5 s"):
            send_message("127.0.0.1", silent.getsockname()[1], b"x", timeout=0.5)
