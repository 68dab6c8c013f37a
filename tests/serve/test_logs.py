"""Request ids and log lines: sizes, timings and counts, never a body, a query or an unknown path."""
import asyncio
import logging

import httpx

from seq2seq.serve.logs import RequestLog, new_request_id


async def app(scope, receive, send):
    await receive()
    scope["state"]["counts"].update(texts=2, chars=40)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"12345"})


def call(mw, path, **kw):
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mw), base_url="http://t") as c:
            return await c.post(path, **kw)
    return asyncio.run(go())


def test_one_line_a_request_without_text(caplog):
    mw = RequestLog(app, ["/v1/annotate"])
    with caplog.at_level(logging.INFO, logger="seq2seq.serve"):
        r = call(mw, "/v1/annotate?name=Jane+Roe", content=b'{"texts": ["Jane Roe"]}', headers={"X-Request-ID": "abc-1"})
        call(mw, "/v1/Jane-Roe", content=b"{}")
    assert r.headers["x-request-id"] == "abc-1"
    lines = [rec.getMessage() for rec in caplog.records]
    assert len(lines) == 2
    assert "id=abc-1 POST /v1/annotate status=200" in lines[0] and "out=5B" in lines[0] and "texts=2 chars=40" in lines[0]
    assert " - status=200" in lines[1]   # a path it does not serve is not logged
    assert not any("Jane" in x or "Roe" in x for x in lines)


def test_request_ids():
    assert new_request_id(b"req.42_x-y") == "req.42_x-y"
    for bad in (b"", b"a b", b"x" * 65, "é".encode()):
        rid = new_request_id(bad)
        assert len(rid) == 16 and rid != bad.decode("latin-1")
