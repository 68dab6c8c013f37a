#!/usr/bin/env python
"""The service under load: micro-batching on and off, at several concurrencies, in one run.

Starts `scripts/serve.py` twice on 127.0.0.1 (free ports), once with micro-batching and once with
`--no-micro-batching`, both with --threads torch threads, then for each concurrency C runs a bounded
load loop against each in turn (off, then on, so both see the same machine): --requests requests of
one sentence each (`POST /v1/annotate`; sentences from --csv, in turn), C at a time, stopped early at
--time-cap seconds. Per run: requests/s, sentences/s, p50 and p99 latency, the server's CPU seconds
(user + system) and the client's, and the server's peak RSS (VmHWM, so far). The last line is one
JSON object; `speedup` is micro-batching's sentences/s over one-at-a-time's, per concurrency.
"""
import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from seq2seq.commands.cli import run

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(ROOT / "models" / "demo" / "model.safetensors"), help="model.safetensors of scripts/train.py")
    p.add_argument("--csv", default=str(ROOT / "data" / "sample.csv"), help="sentences sent (first column)")
    p.add_argument("--requests", type=int, default=320, help="requests per load run (one sentence each)")
    p.add_argument("--concurrency", default="1,8,32", help="comma-separated concurrencies")
    p.add_argument("--time-cap", type=float, default=60.0, help="a load run stops after this many seconds")
    p.add_argument("--max-wait-ms", type=float, default=5.0, help="the micro-batching server's --max-wait-ms")
    p.add_argument("--max-batch", type=int, default=64, help="the micro-batching server's --max-batch")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads of each server")
    a = p.parse_args(argv)
    a.concurrency = [int(c) for c in a.concurrency.split(",")]
    if a.requests < 1 or a.threads < 1 or min(a.concurrency) < 1 or a.time_cap <= 0:
        p.error("--requests, --threads and the concurrencies must be >= 1, --time-cap > 0")
    return a


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    "One scripts/serve.py subprocess; its CPU seconds and peak RSS read from /proc."

    def __init__(self, a, batching: bool, log: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, str(ROOT / "scripts" / "serve.py"), "--model", a.model, "--port", str(self.port),
               "--threads", str(a.threads), "--max-wait-ms", str(a.max_wait_ms), "--max-batch", str(a.max_batch),
               "--max-queue", "100000", "--log-level", "warning"] + ([] if batching else ["--no-micro-batching"])
        self.log = log
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                                     stdout=subprocess.DEVNULL, stderr=open(log, "w"))

    def wait_ready(self, timeout: float = 180):
        import httpx
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None: raise RuntimeError(f"server exited:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200: return
            except httpx.TransportError: pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout:g} s")

    def cpu(self) -> float:
        "User + system CPU seconds of the server process so far."
        f = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"): return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try: self.proc.wait(60)
            except subprocess.TimeoutExpired: self.proc.kill()


class _Conn:
    "One keep-alive HTTP/1.1 connection of the load loop (plain asyncio: the client stays light beside the server)."

    def __init__(self, host: str, port: int):
        self.host, self.port, self.r, self.w = host, port, None, None

    async def post(self, path: str, body: bytes) -> int:
        "POST `body` as JSON; the response's status (its body is read and dropped)."
        if self.w is None: self.r, self.w = await asyncio.open_connection(self.host, self.port)
        self.w.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await self.w.drain()
        head = await self.r.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(x.split(":", 1)[1]) for x in lines if x.lower().startswith("content-length:"))
        await self.r.readexactly(length)
        return int(lines[0].split()[1])

    def close(self):
        if self.w is not None: self.w.close()


async def _load(url: str, sentences: list, n: int, conc: int, cap: float) -> dict:
    "At most `n` one-sentence requests, `conc` at a time, for at most `cap` seconds: latencies and counts."
    host, port = url.split("//")[1].split(":")
    lat, errors, nxt = [], 0, iter(range(n))
    t_end = time.monotonic() + cap
    bodies = [json.dumps({"texts": [s]}).encode() for s in sentences]

    async def worker():
        nonlocal errors
        c = _Conn(host, int(port))
        try:
            for i in nxt:
                if time.monotonic() > t_end: return
                t0 = time.perf_counter()
                status = await c.post("/v1/annotate", bodies[i % len(bodies)])
                lat.append(time.perf_counter() - t0)
                errors += status != 200
        finally:
            c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    return dict(wall=time.perf_counter() - t0, lat=sorted(lat), errors=errors)


def _pct(xs: list, q: float) -> float:
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def _client_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _one(server: _Server, sentences: list, a, conc: int) -> dict:
    "One load run against `server`."
    import httpx
    b0, s0, c0 = httpx.get(server.url + "/readyz").json(), server.cpu(), _client_cpu()
    r = asyncio.run(_load(server.url, sentences, a.requests, conc, a.time_cap))
    b1, n = httpx.get(server.url + "/readyz").json(), len(r["lat"])
    per_batch = (b1["sentences"] - b0["sentences"]) / max(1, b1["batches"] - b0["batches"])
    return dict(requests=n, sents_per_batch=round(per_batch, 1), errors=r["errors"], wall_s=round(r["wall"], 3), req_per_s=round(n / r["wall"], 2),
                sents_per_s=round(n / r["wall"], 2), p50_ms=round(1000 * _pct(r["lat"], .5), 1),
                p99_ms=round(1000 * _pct(r["lat"], .99), 1), server_cpu_s=round(server.cpu() - s0, 2),
                client_cpu_s=round(_client_cpu() - c0, 2), server_peak_rss_mb=round(server.peak_rss_mb(), 1))


def main(argv=None):
    a = parse_args(argv)
    if not Path(a.model).exists():
        raise FileNotFoundError(f"{a.model}: no such model file; run `make demo` first (or pass --model)")
    import pandas as pd
    sentences = [s for s in pd.read_csv(a.csv, dtype=str, keep_default_na=False).iloc[:, 0] if s.strip()]
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        servers = {k: _Server(a, k == "on", Path(tmp) / f"{k}.log") for k in ("off", "on")}
        try:
            for s in servers.values(): s.wait_ready()
            for s in servers.values(): asyncio.run(_load(s.url, sentences, 16, 4, 30))   # warm-up
            res = {c: {k: _one(servers[k], sentences, a, c) for k in ("off", "on")} for c in a.concurrency}
        finally:
            for s in servers.values(): s.stop()
    return _report(a, res)


def _report(a, res: dict) -> dict:
    "Print the table and the JSON line."
    print(f"{a.requests} one-sentence requests per run (cap {a.time_cap:g} s), {a.threads} torch thread(s) a server, "
          f"micro-batching: --max-batch {a.max_batch} --max-wait-ms {a.max_wait_ms:g}; {os.cpu_count()} cores, shared")
    print(f"{'conc':>4} {'batching':>8} {'req/s':>8} {'sent/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'sent/batch':>10} "
          f"{'srv cpu s':>9} {'cli cpu s':>9} {'srv rss MB':>10}")
    for c, runs in res.items():
        for k, r in runs.items():
            print(f"{c:>4} {k:>8} {r['req_per_s']:8.1f} {r['sents_per_s']:8.1f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
                  f"{r['sents_per_batch']:10.1f} {r['server_cpu_s']:9.2f} {r['client_cpu_s']:9.2f} {r['server_peak_rss_mb']:10.1f}")
    speedup = {c: round(r["on"]["sents_per_s"] / r["off"]["sents_per_s"], 2) for c, r in res.items()}
    print("micro-batching speed-up (sentences/s, on / off): " + ", ".join(f"{c}: {s:.2f}x" for c, s in speedup.items()))
    out = dict(runs={str(c): r for c, r in res.items()}, speedup={str(c): s for c, s in speedup.items()},
               requests=a.requests, threads=a.threads, max_wait_ms=a.max_wait_ms, max_batch=a.max_batch)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    sys.exit(run(main))
