"""Webhook receivers on loopback that misbehave the ways a relay must survive, each in a thread of its own.

- ``trickle``: accepts, then sends the answer one byte every ``interval`` seconds (never trips a read timeout)
- ``silent``: accepts and reads the request, then says nothing
- ``huge``: answers 200 with a 50 MB body as fast as the client reads
- ``ok``: answers 204 at once and records the bodies

Every server stops by itself after ``lifetime`` seconds at the latest.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

HUGE_BYTES = 50 * 1024 * 1024


@dataclass
class Receiver:
    kind: str
    port: int = 0
    interval: float = 2.0
    lifetime: float = 90.0
    requests: int = 0
    bodies: list[bytes] = field(default_factory=list)
    bytes_sent: int = 0  # the most one answer got out before the client hung up

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return await reader.readexactly(length)


async def _serve(state: Receiver, ready: threading.Event, stop: threading.Event) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Cancelled when the server stops mid-answer: that is the end of the story, not an error.
        with contextlib.suppress(Exception, asyncio.CancelledError):
            while True:
                body = await _read_request(reader)
                state.requests += 1
                if state.kind == "ok":
                    state.bodies.append(body)
                    writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                if state.kind == "trickle":
                    for byte in b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok":
                        writer.write(bytes([byte]))
                        await writer.drain()
                        await asyncio.sleep(state.interval)
                elif state.kind == "silent":
                    await asyncio.sleep(state.lifetime)
                elif state.kind == "huge":
                    writer.write(f"HTTP/1.1 200 OK\r\ncontent-length: {HUGE_BYTES}\r\n\r\n".encode())
                    chunk, sent = b"x" * 65536, 0
                    while sent < HUGE_BYTES:
                        writer.write(chunk)
                        await writer.drain()
                        sent += len(chunk)
                        state.bytes_sent = max(state.bytes_sent, sent)
                break
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    ready.set()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + state.lifetime
    while not stop.is_set() and loop.time() < deadline:
        await asyncio.sleep(0.1)
    server.close()


@contextlib.contextmanager
def receiver(kind: str, **options: float) -> Iterator[Receiver]:
    state = Receiver(kind, **options)  # type: ignore[arg-type]
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(_serve(state, ready, stop)), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield state
    finally:
        stop.set()
        thread.join(5)
