"""uvicorn's h11 protocol, with three changes for a server that faces the open network.

**Raw UTF-8 in the request line, as curl sends it.** `curl 'http://host/api/search?q=嘉兴…'`
puts the question's UTF-8 bytes in the request line unencoded. h11 (and httptools) follow
the URI grammar and reject them with "Invalid HTTP request received". This protocol
percent-encodes those bytes in the request line only, before h11 sees it; headers and
bodies are passed through untouched. Already-encoded requests are unchanged.

**Half-sent requests cannot hold the server.** uvicorn's keep-alive timeout stops once a
byte arrives, so a client that sends part of a request head and then nothing kept its
connection (and a file descriptor) forever. Every connection waiting for a request head
has `head_timeout` seconds to complete it, else it gets 408 and is closed. At most
`max_connections` are open: a new one past the limit closes the connection that has
waited longest for its head (a connection whose request is being answered is never
closed), so the server keeps answering while hundreds of such connections arrive.

**Malformed requests get the API's JSON error shape** (400 bad_request), not uvicorn's
plain text.
"""

from __future__ import annotations

import asyncio
import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_REQUEST_LINE = 16_384
BAD_REQUEST = json.dumps({"error": {"code": "bad_request", "message": "the request is not valid HTTP/1.1"}}).encode()
_TIMEOUT_BODY = json.dumps({"error": {"code": "request_timeout",
                                      "message": "the request head did not arrive in time"}}).encode()
REQUEST_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                   b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n"
                   b"x-content-type-options: nosniff\r\nconnection: close\r\n\r\n" + _TIMEOUT_BODY)


def percent_encode_high_bytes(line: bytes) -> bytes:
    return b"".join(b"%%%02X" % byte if byte >= 0x80 else bytes([byte]) for byte in line)


class Utf8RequestLineProtocol(H11Protocol):
    head_timeout: float = 15.0
    max_connections: int = 512

    _pending = b""
    _awaiting_line = True
    _head_timer: asyncio.TimerHandle | None = None
    _waiting_since = 0.0

    @classmethod
    def configured(cls, head_timeout: float, max_connections: int) -> type[Utf8RequestLineProtocol]:
        """This protocol with the given limits, as a class for uvicorn's `http=`."""
        return type(cls.__name__, (cls,), {"head_timeout": head_timeout, "max_connections": max_connections})

    # --- a timer for the request head ------------------------------------------

    def _await_head(self) -> None:
        self._stop_head_timer()
        self._waiting_since = self.loop.time()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.write(REQUEST_TIMEOUT)
            self.transport.close()

    def _make_room(self) -> None:
        """Past max_connections: close the connection that has waited longest for a request head."""
        waiting = [c for c in self.connections
                   if isinstance(c, Utf8RequestLineProtocol) and c._head_timer is not None
                   and not c.transport.is_closing()]
        oldest = min(waiting, key=lambda c: c._waiting_since, default=None)
        if oldest is not None:
            oldest._stop_head_timer()
            oldest.transport.close()

    # --- uvicorn's protocol ------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a whole request head was read: its answer is under way
            self._stop_head_timer()

    def data_received(self, data: bytes) -> None:
        if not self._awaiting_line:
            super().data_received(data)
            return
        self._pending += data
        end = self._pending.find(b"\n")
        if end < 0 and len(self._pending) <= MAX_REQUEST_LINE:
            return  # wait for the rest of the request line
        pending, self._pending = self._pending, b""
        self._awaiting_line = False
        if end >= 0:
            pending = percent_encode_high_bytes(pending[:end]) + pending[end:]
        super().data_received(pending)

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._await_head()  # for the next request on this connection (stopped again if one is queued)
        super().on_response_complete()
        # A new request line follows only once h11 is idle with nothing buffered (no pipelining).
        buffered = len(getattr(self.conn, "_receive_buffer", b""))
        self._awaiting_line = self.conn.their_state is h11.IDLE and buffered == 0

    def send_400_response(self, msg: str) -> None:
        self._stop_head_timer()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(BAD_REQUEST)).encode()),
                   (b"x-content-type-options", b"nosniff"), (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                      h11.Data(data=BAD_REQUEST), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()
