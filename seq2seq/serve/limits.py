"""API keys and the request-size limit, as plain ASGI middleware (no web framework needed).

- `read_api_key`: the key from `--api-key-file` (one line; an empty or unreadable file is refused).
- `BearerAuth`: every `/v1/` request needs `Authorization: Bearer KEY`; the key is compared in
  constant time (`hmac.compare_digest`); a missing or wrong key gets 401. The probes (`/healthz`,
  `/readyz`) and the schema stay open, so an orchestrator can check the service without the key.
- `BodyLimit`: a body over `max_bytes` gets 413, from its Content-Length before anything is read,
  or as soon as the bytes read pass the limit (chunked uploads); at most `max_bytes` are held.

Every refusal is a JSON error `{"error": {"status", "code", "message", "request_id"}}` (`error_body`).
"""
import hmac
import json
from pathlib import Path
from typing import Optional

from ..errors import UserError

__all__ = ["ServeError", "read_api_key", "BearerAuth", "BodyLimit", "error_body", "send_error", "request_id_of"]


class ServeError(UserError):
    "A service option that cannot be used (an API key file that is missing or empty)."


def read_api_key(path) -> bytes:
    "The API key held by the file `path` (its first line, outer whitespace removed)."
    p = Path(path)
    try: text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e: raise ServeError(f"--api-key-file {p}: cannot be read ({e})") from None
    key = text.strip().splitlines()[0].strip() if text.strip() else ""
    if len(key) < 16: raise ServeError(f"--api-key-file {p}: give a key of at least 16 characters on its first line")
    return key.encode("utf-8")


def request_id_of(scope) -> str:
    "The request id `logs.RequestLog` gave this request ('-' outside it)."
    return scope.get("state", {}).get("request_id", "-")


def error_body(status: int, code: str, message: str, request_id: str) -> dict:
    "The JSON body of every error the service returns."
    return {"error": {"status": status, "code": code, "message": message, "request_id": request_id}}


async def send_error(send, scope, status: int, code: str, message: str, headers=()):
    "Answer the request with a JSON error (see `error_body`)."
    body = json.dumps(error_body(status, code, message, request_id_of(scope))).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class BearerAuth:
    "ASGI middleware: `/v1/` requests need `Authorization: Bearer KEY` (see the module docstring)."

    def __init__(self, app, key: Optional[bytes], prefix: str = "/v1/"):
        self.app, self.key, self.prefix = app, key, prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.key is None or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)
        got = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, token = got.partition(b" ")
        # compare_digest on every request, whatever was sent, so timing tells nothing about the key
        ok = hmac.compare_digest(token.strip(), self.key) and scheme.lower() == b"bearer"
        if ok: return await self.app(scope, receive, send)
        msg = "wrong API key" if got else "missing API key: send 'Authorization: Bearer KEY'"
        await send_error(send, scope, 401, "unauthorized", msg, [(b"www-authenticate", b"Bearer")])


class BodyLimit:
    "ASGI middleware: bodies over `max_bytes` get 413; others are read whole and handed on."

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http": return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await self._refuse(scope, send, int(length))
        chunks, n, more = [], 0, True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect": return
            chunks.append(msg.get("body", b""))
            n += len(chunks[-1])
            more = msg.get("more_body", False)
            if n > self.max_bytes: return await self._refuse(scope, send, None)
        scope.setdefault("state", {})["body_bytes"] = n
        body, sent = b"".join(chunks), False

        async def replay():
            nonlocal sent
            if sent: return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope, send, length: Optional[int]):
        "413 with the limit in the message."
        size = f"{length} bytes" if length is not None else f"more than {self.max_bytes} bytes"
        await send_error(send, scope, 413, "body_too_large",
                         f"request body of {size}; at most {self.max_bytes} bytes (--max-body-bytes)",
                         [(b"connection", b"close")])
