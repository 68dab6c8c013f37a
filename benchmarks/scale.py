#!/usr/bin/env python
"""The archive engine: notes per second with 1 and 2 Dask workers against one process, in one run.

Reads --input (default: the 250 MEDDOCAN dev notes, ../shared/corpora/meddocan/dev/brat, as text;
else notes built from data/sample.csv), then de-identifies them (spans + --redact, predictions.jsonl)
three ways, one after the other on the same machine:

- `1 process`: seq2seq-predict's document path in this process (`pipeline.predict_docs`);
- `dask N`: `seq2seq-predict --engine dask` on a local cluster of N worker processes, one torch
  thread each, the model loaded on every worker before the clock starts (a long job pays that once).

Per run: wall seconds, notes/s, CPU seconds (workers' decoding + the driver's) and notes per
CPU-second, the scaling efficiency (notes/s of N workers over N times one worker's) and notes/s per
core against the published Spark NLP de-identification figure (about 0.5 notes of ~500 tokens a
second a core). The last line is one JSON object.
"""
import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from seq2seq.commands.cli import run

ROOT = Path(__file__).resolve().parents[1]
MEDDOCAN = ROOT.parent / "shared" / "corpora" / "meddocan" / "dev" / "brat"
SPARK_NLP_NOTES_PER_CORE_S = 0.5


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(ROOT / "models" / "demo" / "model.safetensors"), help="model.safetensors of scripts/train.py")
    p.add_argument("--input", default=str(MEDDOCAN) if MEDDOCAN.is_dir() else None,
                   help="a folder of .txt notes (default: MEDDOCAN dev when present, else notes built from data/sample.csv)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N notes (0: all)")
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    p.add_argument("--partition-size", type=int, default=25, help="notes per partition")
    p.add_argument("--redact", default="mask", help="redaction (as seq2seq-predict --redact)")
    p.add_argument("--threads", type=int, default=1, help="torch threads of the process and of each worker")
    a = p.parse_args(argv)
    a.workers = [int(w) for w in a.workers.split(",")]
    if min(a.workers) < 1 or a.partition_size < 1 or a.threads < 1 or a.limit < 0:
        p.error("--workers, --partition-size and --threads must be >= 1, --limit >= 0")
    return a


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _notes(a, tmp: Path) -> Path:
    "The notes as a folder of .txt files (the first --limit of them)."
    folder = tmp / "notes"
    folder.mkdir()
    if a.input:
        files = sorted(f for f in Path(a.input).iterdir() if f.suffix == ".txt")
        for f in files[:a.limit or None]: shutil.copyfile(f, folder / f.name)
    else:
        import pandas as pd
        rows = [s for s in pd.read_csv(ROOT / "data" / "sample.csv").orig_text if s.strip()]
        for i in range(a.limit or 100):
            (folder / f"note{i:04d}.txt").write_text("\n".join(rows[(8 * i + j) % len(rows)] for j in range(8)) + "\n")
    return folder


def _one_process(a, notes: Path, out: Path) -> dict:
    "The document path in this process."
    from seq2seq.deid.pipeline import predict_docs
    from seq2seq.deid.redact import RedactConfig
    from seq2seq.formats.writers import OutputConfig
    from seq2seq.training.learner import load_seq2seq
    learn = load_seq2seq(a.model)
    learn.restore(["Seen by Dr. Smith on 3/4/2091."] * 4)   # warm-up
    w, c = time.perf_counter(), _cpu()
    r = predict_docs(learn, notes, "text", OutputConfig(str(out), ["jsonl"]), RedactConfig(a.redact), log=lambda *x: None)
    cpu = _cpu() - c
    return dict(wall=time.perf_counter() - w, cpu=cpu, worker_cpu=cpu, notes=r["documents"], sentences=r["sentences"])


def _warm(job):
    "Load the model on this worker (runs on every worker before the clock starts)."
    from seq2seq.engine.worker import learner
    learner(job).restore(["Seen by Dr. Smith on 3/4/2091."] * 4)
    return os.getpid()


def _dask(a, n: int, notes: Path, out: Path) -> dict:
    "The engine on a local cluster of `n` workers."
    import logging
    from distributed import Client, LocalCluster
    from seq2seq.decoding.config import DecodeConfig
    from seq2seq.deid.redact import RedactConfig
    from seq2seq.engine.config import EngineConfig
    from seq2seq.engine.partitions import Job
    from seq2seq.engine.runner import run_job
    from seq2seq.formats.writers import OutputConfig, targets
    job = Job(model=a.model, input=str(notes), input_format="text", out=str(out), decode=DecodeConfig(seed=0),
              formats=("jsonl",), redact=RedactConfig(a.redact), threads=a.threads)
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        client.run(_warm, job)
        w, c = time.perf_counter(), _cpu()
        r = run_job(job, EngineConfig("dask", cluster=cluster.scheduler_address, partition_size=a.partition_size),
                    "orig_text", targets(OutputConfig(str(out), ["jsonl"]), a.redact != "none"), log=lambda *x: None)
        wall, driver = time.perf_counter() - w, _cpu() - c
    return dict(wall=wall, cpu=r["worker_cpu_s"] + driver, worker_cpu=r["worker_cpu_s"], notes=r["items"],
                sentences=r["sentences"], workers_used=len(r["workers"]))


def main(argv=None):
    a = parse_args(argv)
    if not Path(a.model).exists():
        raise FileNotFoundError(f"{a.model}: no such model file; run `make demo` first (or pass --model)")
    os.environ.setdefault("PYTHONPATH", str(ROOT))   # local workers import this checkout
    import torch
    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        notes = _notes(a, tmp)
        res = {"1 process": _one_process(a, notes, tmp / "one")}
        for n in a.workers: res[f"dask {n}"] = _dask(a, n, notes, tmp / f"dask{n}")
        same = len({(tmp / d / "predictions.jsonl").read_text().count("\n") for d in ["one"] + [f"dask{n}" for n in a.workers]})
    return _report(a, res, same == 1)


def _report(a, res: dict, same_count: bool) -> dict:
    "Print the table and the JSON line."
    first = next(iter(res.values()))
    print(f"{first['notes']} notes, {first['sentences']} sentences; greedy, --redact {a.redact}, jsonl; "
          f"{a.threads} torch thread(s) a process; partitions of {a.partition_size}; {os.cpu_count()} cores, shared")
    print(f"{'run':<10}{'wall s':>8}{'notes/s':>9}{'cpu s':>8}{'decode cpu s':>13}{'notes/cpu-s':>12}"
          f"{'notes/s/worker':>15}{'vs Spark NLP':>13}")
    out = {}
    for k, r in res.items():
        n = int(k.split()[1]) if k.startswith("dask") else 1
        rate = r["notes"] / r["wall"]
        out[k] = dict(wall_s=round(r["wall"], 2), notes_per_s=round(rate, 2), cpu_s=round(r["cpu"], 2),
                      decode_cpu_s=round(r["worker_cpu"], 2),
                      notes_per_cpu_s=round(r["notes"] / r["cpu"], 2), notes_per_s_per_worker=round(rate / n, 2),
                      vs_spark_nlp_per_core=round(rate / n / SPARK_NLP_NOTES_PER_CORE_S, 1))
        o = out[k]
        print(f"{k:<10}{o['wall_s']:8.2f}{o['notes_per_s']:9.2f}{o['cpu_s']:8.2f}{o['decode_cpu_s']:13.2f}"
              f"{o['notes_per_cpu_s']:12.2f}"
              f"{o['notes_per_s_per_worker']:15.2f}{o['vs_spark_nlp_per_core']:12.1f}x")
    eff = {}
    if "dask 1" in out:
        for k, o in out.items():
            if k.startswith("dask") and k != "dask 1":
                n = int(k.split()[1])
                eff[k] = round(o["notes_per_s"] / (n * out["dask 1"]["notes_per_s"]), 2)
        if eff: print("scaling efficiency (notes/s over N x one worker's): " + ", ".join(f"{k}: {v:.2f}" for k, v in eff.items()))
    res_json = dict(runs=out, scaling_efficiency=eff, notes=first["notes"], sentences=first["sentences"],
                    same_note_count=same_count, partition_size=a.partition_size, threads=a.threads)
    print(json.dumps(res_json))
    return res_json


if __name__ == "__main__":
    sys.exit(run(main))
