"""Accept raw UTF-8 in the request line, as curl sends it.

`curl 'http://host/api/search?q=嘉兴…'` puts the question's UTF-8 bytes in the
request line unencoded. h11 (and httptools) follow the URI grammar and reject
them with "Invalid HTTP request received". This protocol percent-encodes those
bytes in the request line only, before h11 sees it; headers and bodies are
passed through untouched. Already-encoded requests are unchanged.

A request h11 cannot parse is answered with the API's JSON error shape (400
bad_request), not uvicorn's plain text.
"""

from __future__ import annotations

import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_REQUEST_LINE = 16_384
BAD_REQUEST = json.dumps({"error": {"code": "bad_request", "message": "the request is not valid HTTP/1.1"}}).encode()


def percent_encode_high_bytes(line: bytes) -> bytes:
    return b"".join(b"%%%02X" % byte if byte >= 0x80 else bytes([byte]) for byte in line)


class Utf8RequestLineProtocol(H11Protocol):
    _pending = b""
    _awaiting_line = True

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
        super().on_response_complete()
        # A new request line follows only once h11 is idle with nothing buffered (no pipelining).
        buffered = len(getattr(self.conn, "_receive_buffer", b""))
        self._awaiting_line = self.conn.their_state is h11.IDLE and buffered == 0

    def send_400_response(self, msg: str) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(BAD_REQUEST)).encode()),
                   (b"x-content-type-options", b"nosniff"), (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                      h11.Data(data=BAD_REQUEST), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()
