"""Request ids and one log line a request, never any text.

`RequestLog` (ASGI middleware) gives each request an id (the client's `X-Request-ID` when it is a
plain token, else a new one), returns it in the `X-Request-ID` header and, when the response is
sent, logs one line: the id, the method, the route (a path the service does not serve is logged as
`-`, since a path can be anything a client typed), the status, the bytes in and out, the time taken,
and the counts a handler added (`scope["state"]["counts"]`: texts, documents, characters,
sentences, spans). Bodies, texts, document ids and query strings are never logged; neither are the
messages of unexpected errors (they may quote input): only the exception's type, for the request id.
"""
import logging
import re
import time
import uuid
from typing import Iterable

__all__ = ["RequestLog", "LOGGER", "new_request_id"]

LOGGER = logging.getLogger("seq2seq.serve")
_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def new_request_id(given: bytes = b"") -> str:
    "The client's id when it is a plain token of at most 64 characters, else a new random one."
    s = given.decode("latin-1")
    return s if _ID.fullmatch(s) else uuid.uuid4().hex[:16]


class RequestLog:
    "ASGI middleware: request ids and one log line a request (see the module docstring)."

    def __init__(self, app, routes: Iterable[str], logger: logging.Logger = LOGGER):
        self.app, self.routes, self.log = app, set(routes), logger

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http": return await self.app(scope, receive, send)
        rid = new_request_id(dict(scope["headers"]).get(b"x-request-id", b""))
        state = scope.setdefault("state", {})
        state.update(request_id=rid, counts={})
        t0, seen = time.perf_counter(), dict(status=0, out=0)

        async def send_logged(msg):
            if msg["type"] == "http.response.start":
                seen["status"] = msg["status"]
                msg = dict(msg, headers=list(msg.get("headers", [])) + [(b"x-request-id", rid.encode())])
            elif msg["type"] == "http.response.body":
                seen["out"] += len(msg.get("body", b""))
            await send(msg)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            self._line(scope, state, seen, time.perf_counter() - t0)

    def _line(self, scope, state: dict, seen: dict, secs: float):
        "Log the request's line."
        route = scope["path"] if scope["path"] in self.routes else "-"
        counts = " ".join(f"{k}={v}" for k, v in state.get("counts", {}).items())
        self.log.info("request id=%s %s %s status=%s in=%sB out=%sB ms=%.1f%s", state["request_id"], scope["method"],
                      route, seen["status"] or "-", state.get("body_bytes", 0), seen["out"], secs * 1000,
                      f" {counts}" if counts else "")
