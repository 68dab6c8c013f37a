"""API keys and the body-size limit as ASGI middleware, on a stand-in app (no model, no server)."""
import asyncio
import json

import httpx
import pytest

from seq2seq.serve.limits import BearerAuth, BodyLimit, ServeError, read_api_key

KEY = b"k" * 24


async def echo(scope, receive, send):
    "A stand-in app: answers with the length of the body it received."
    body, more = b"", True
    while more:
        msg = await receive()
        body += msg.get("body", b"")
        more = msg.get("more_body", False)
    out = json.dumps({"got": len(body)}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": out})


def call(app, method, path, **kw):
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return await c.request(method, path, **kw)
    return asyncio.run(go())


@pytest.mark.parametrize("headers,status", [({}, 401), ({"Authorization": "Bearer wrong"}, 401),
                                            ({"Authorization": "Basic " + KEY.decode()}, 401),
                                            ({"Authorization": "Bearer " + KEY.decode()}, 200),
                                            ({"Authorization": "bearer " + KEY.decode()}, 200)])
def test_v1_needs_the_bearer_key(headers, status):
    r = call(BearerAuth(echo, KEY), "POST", "/v1/annotate", content=b"{}", headers=headers)
    assert r.status_code == status
    if status == 401:
        assert r.json()["error"]["code"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"


def test_probes_stay_open_and_no_key_means_no_check():
    assert call(BearerAuth(echo, KEY), "GET", "/healthz").status_code == 200
    assert call(BearerAuth(echo, None), "POST", "/v1/annotate", content=b"{}").status_code == 200


def test_a_body_over_the_limit_gets_413_from_its_length_or_while_streaming():
    app = BodyLimit(echo, 100)
    assert call(app, "POST", "/v1/annotate", content=b"x" * 100).json() == {"got": 100}
    r = call(app, "POST", "/v1/annotate", content=b"x" * 101)
    assert r.status_code == 413 and "at most 100 bytes" in r.json()["error"]["message"]

    async def chunks():   # no Content-Length: the limit is found while reading
        for _ in range(5): yield b"y" * 30
    r = call(app, "POST", "/v1/annotate", content=chunks())
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"


def test_the_key_file(tmp_path):
    f = tmp_path / "key"
    f.write_text("  " + KEY.decode() + "\nsecond line\n")
    assert read_api_key(f) == KEY
    f.write_text("short\n")
    with pytest.raises(ServeError, match="at least 16 characters"): read_api_key(f)
    with pytest.raises(ServeError, match="cannot be read"): read_api_key(tmp_path / "missing")
