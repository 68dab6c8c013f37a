"""The real service: `scripts/serve.py` in a subprocess on 127.0.0.1, spoken to over HTTP with httpx.

Results equal seq2seq-predict's on the same texts; every limit; the API key; concurrent requests
decoded together; no text in the logs; graceful shutdown on SIGTERM.
"""
import asyncio
import csv as csv_module
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from seq2seq.commands.predict import main as predict
from seq2seq.formats.documents import read_documents

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NOTES = ROOT / "tests" / "fixtures" / "notes"
PHI = "Quentavius Marblethorpe"   # a name no log line may ever hold
KEY = "test-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    "scripts/serve.py on a free port of 127.0.0.1; its log (stderr) in a file."

    def __init__(self, model, tmp: Path, *args: str):
        self.port, self.log = free_port(), tmp / f"serve-{time.monotonic_ns()}.log"
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, str(ROOT / "scripts" / "serve.py"), "--model", str(model), "--port", str(self.port),
               "--threads", "1", *args]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(self.log, "w"))
        deadline = time.monotonic() + 120
        while "listening on" not in self.text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"the server did not start:\n{self.text()}")
            time.sleep(0.2)

    def text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def stop(self, timeout: float = 60) -> int:
        "SIGTERM, then wait for the process (killed if it does not end in time)."
        if self.proc.poll() is None: self.proc.send_signal(signal.SIGTERM)
        try: return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    s = Server(tiny_model, tmp_path_factory.mktemp("serve"), "--max-wait-ms", "50")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def texts():
    rows = pd.read_csv(ROOT / "data" / "sample.csv").orig_text.tolist()
    return rows[240:270] + ["   ", "Dr. Ng saw the patient on 12/1/2090 at Mercy Clinic. " * 8]


def annotate(server, texts, **opts):
    r = httpx.post(server.url + "/v1/annotate", json=dict(texts=texts, **opts), timeout=120)
    assert r.status_code == 200, r.text
    return r.json()["results"]


def same_spans(got, want):
    "Spans equal in offsets, type, text and origin; scores to float rounding (batches change the last bits)."
    assert [{k: v for k, v in s.items() if k != "score"} for s in got] == \
           [{k: v for k, v in s.items() if k != "score"} for s in want]
    assert all(abs(a["score"] - b["score"]) <= 2e-6 for a, b in zip(got, want))


# ---------------------------------------------------------------- results identical to seq2seq-predict

@pytest.mark.parametrize("opts,flags", [({}, []), ({"decoder": "beam", "beam_size": 3}, ["--decoder", "beam", "--beam-size", "3"])])
def test_annotate_equals_predict_on_the_same_texts(server, tiny_model, texts, tmp_path, opts, flags):
    csv = tmp_path / "in.csv"
    pd.DataFrame({"orig_text": texts}).to_csv(csv, index=False, quoting=csv_module.QUOTE_ALL)  # keeps "   "
    predict(["--model", str(tiny_model), "--csv", str(csv), "--out", str(tmp_path / "out.csv"), *flags])
    predict(["--model", str(tiny_model), "--input", str(csv), "--input-format", "csv", "--output-format", "jsonl",
             "--out", str(tmp_path / "docs"), *flags])
    want = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False).prediction.tolist()
    want_spans = [json.loads(x)["spans"] for x in (tmp_path / "docs" / "predictions.jsonl").read_text().splitlines()]
    got = annotate(server, texts, **opts)
    assert [r["annotated"] for r in got] == want
    assert sum(len(s) for s in want_spans) > 10   # the tiny model does tag
    for r, w in zip(got, want_spans): same_spans(r["spans"], w)


@pytest.mark.parametrize("mode", ["mask", "surrogate"])
def test_deidentify_equals_predict_on_the_same_notes(server, tiny_model, tmp_path, mode):
    predict(["--model", str(tiny_model), "--input", str(NOTES), "--input-format", "text", "--output-format", "jsonl",
             "--redact", mode, "--out", str(tmp_path / "out")])
    want = [json.loads(x) for x in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    docs = [dict(id=d.doc_id, text=d.text) for d in read_documents(NOTES, "text")]
    r = httpx.post(server.url + "/v1/deidentify", json=dict(documents=docs, redact=mode), timeout=120)
    assert r.status_code == 200, r.text
    got = r.json()["documents"]
    assert [d["id"] for d in got] == [w["id"] for w in want] == ["note1", "note2", "note3"]
    assert [d["redacted"] for d in got] == [w["redacted"] for w in want]
    for g, w in zip(got, want): same_spans(g["spans"], w["spans"])
    assert sum(len(w["spans"]) for w in want) > 3 and all(w["redacted"] != w["text"] for w in want)


def test_n_best_and_free_decoding(server, texts):
    best = annotate(server, texts[:3], decoder="beam", beam_size=4, n_best=3)
    assert all(len(r["hypotheses"]) == 3 and r["hypotheses"][0]["annotated"] == r["annotated"] and "spans" not in r
               for r in best)
    free = annotate(server, texts[:3], faithful=False)
    assert all(set(r) == {"annotated"} for r in free)


def test_deidentify_defaults_and_options(server):
    doc = "Seen by Dr. Lindqvist on 3/6/2091. Lindqvist agreed."
    r = httpx.post(server.url + "/v1/deidentify", json=dict(documents=[dict(text=doc)]), timeout=60).json()
    d = r["documents"][0]
    assert d["id"] == "1" and d["spans"] and all(doc[s["start"]:s["end"]] == s["text"] for s in d["spans"])
    assert "[" in d["redacted"] and "3/6/2091" not in d["redacted"]   # the server's default: --redact type
    none = httpx.post(server.url + "/v1/deidentify", json=dict(documents=[dict(text=doc)], redact="none",
                                                                repeats="off", min_score=1.0), timeout=60).json()
    assert none["documents"][0]["redacted"] is None and none["documents"][0]["spans"] == []


def test_concurrent_requests_are_decoded_together(server, texts):
    one_by_one = annotate(server, texts[:16])
    before = httpx.get(server.url + "/readyz").json()

    async def many():
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as c:
            rs = await asyncio.gather(*(c.post("/v1/annotate", json=dict(texts=[t])) for t in texts[:16]))
        return [r.json()["results"][0] for r in rs]

    got = asyncio.run(many())
    after = httpx.get(server.url + "/readyz").json()
    assert [g["annotated"] for g in got] == [o["annotated"] for o in one_by_one]
    for g, o in zip(got, one_by_one): same_spans(g["spans"], o["spans"])
    assert after["requests"] - before["requests"] == 16
    assert after["batches"] - before["batches"] < 16   # some were decoded together
    assert after["largest_batch"] > 1


def test_model_probes_and_schema(server):
    m = httpx.get(server.url + "/v1/model").json()
    assert m["arch"] == "seed" and m["lang"] == "en" and m["task"] == "restore"
    assert "DATE" in m["types"] and m["training"]["epochs"] == 4
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(server.url + "/readyz").json()["status"] == "ready"
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    assert {"/v1/annotate", "/v1/deidentify", "/v1/model", "/healthz", "/readyz"} <= set(paths)


# ---------------------------------------------------------------- malformed requests: 422

@pytest.mark.parametrize("body,match", [
    ('{"texts": ["a"', "JSON"), ('{"texts": "a"}', "texts"), ('{"texts": []}', "texts"),
    ('{"texts": ["a"], "beam_sise": 3}', "beam_sise"), ('{"texts": ["a"], "beam_size": 0}', "beam_size must be >= 1"),
    ('{"texts": ["a"], "decoder": "fast"}', "decoder"), ('{"documents": [{"text": "a"}], "redact": "blur"}', "redact"),
    ('{"documents": [{"id": "x", "text": "a"}, {"id": "x", "text": "b"}]}', "share an id")])
def test_malformed_requests_get_422(server, body, match):
    path = "/v1/deidentify" if "documents" in body else "/v1/annotate"
    r = httpx.post(server.url + path, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert match in err["message"] and err["request_id"] == r.headers["x-request-id"]


# ---------------------------------------------------------------- limits and the API key

@pytest.fixture(scope="module")
def guarded(tiny_model, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("guarded")
    (tmp / "key").write_text(KEY + "\n")
    s = Server(tiny_model, tmp, "--api-key-file", str(tmp / "key"), "--max-body-bytes", "3000", "--max-texts", "3",
               "--max-chars", "200", "--request-timeout", "0.05", "--max-wait-ms", "1000")
    yield s
    s.stop()


AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-the-key-0123456789"}, {"Authorization": KEY}])
def test_without_the_key_401(guarded, headers):
    for method, path in (("GET", "/v1/model"), ("POST", "/v1/annotate")):
        r = httpx.request(method, guarded.url + path, json={"texts": ["a"]}, headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


def test_with_the_key_and_the_open_probes(guarded):
    assert httpx.get(guarded.url + "/v1/model", headers=AUTH).status_code == 200
    assert httpx.get(guarded.url + "/healthz").status_code == 200


@pytest.mark.parametrize("body,status,code", [
    ({"texts": ["x" * 3000]}, 413, "body_too_large"), ({"texts": ["a", "b", "c", "d"]}, 413, "too_many_texts"),
    ({"texts": ["a", "x" * 201]}, 413, "text_too_long"), ({"documents": [{"text": "x" * 201}]}, 413, "text_too_long"),
    ({"texts": ["Seen on 3/4/2091."]}, 504, "timeout")])
def test_every_limit(guarded, body, status, code):
    path = "/v1/deidentify" if "documents" in body else "/v1/annotate"
    r = httpx.post(guarded.url + path, json=body, headers=AUTH, timeout=30)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)


def test_no_key_no_binding_beyond_localhost(tiny_model):
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "serve.py"), "--model", str(tiny_model), "--host",
                        "0.0.0.0"], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "--api-key-file" in r.stderr and "listening" not in r.stderr


# ---------------------------------------------------------------- logs without text, graceful shutdown

def test_logs_hold_no_text_and_sigterm_lets_requests_finish(tiny_model, tmp_path):
    s = Server(tiny_model, tmp_path, "--max-chars", "500000")
    try:
        note = f"Patient {PHI} was seen on 3/4/2091 by Dr. Lindqvist. " * 400
        for body in ({"texts": [PHI]}, {"texts": [PHI], "beam_size": -1}, {"documents": [{"id": PHI, "text": PHI}]},
                     {"texts": PHI}):
            httpx.post(s.url + ("/v1/deidentify" if "documents" in body else "/v1/annotate"), json=body, timeout=60)
        httpx.get(s.url + f"/v1/{PHI}")
        res = {}

        def slow():   # a long note, still decoding when SIGTERM arrives
            res["r"] = httpx.post(s.url + "/v1/deidentify", json={"documents": [{"id": "long", "text": note}]},
                                  timeout=120)

        t = threading.Thread(target=slow)
        t.start()
        deadline = time.monotonic() + 30
        while httpx.get(s.url + "/readyz").json()["waiting"] == 0 and time.monotonic() < deadline and t.is_alive():
            time.sleep(0.01)
        s.proc.send_signal(signal.SIGTERM)
        t.join(120)
        assert s.proc.wait(60) == 0
    finally:
        if s.proc.poll() is None: s.proc.kill()
    r = res["r"]
    assert r.status_code == 200 and r.json()["documents"][0]["id"] == "long"
    assert len(r.json()["documents"][0]["spans"]) >= 400
    log = s.text()
    assert "shut down gracefully after SIGTERM" in log
    assert log.count("request id=") >= 7
    assert PHI not in log and "Quentavius" not in log and "Lindqvist" not in log
    with pytest.raises(httpx.ConnectError):
        httpx.get(s.url + "/healthz")
