#!/usr/bin/env python
"""Decoding speed of a trained model: sentences/s of each decoder (faithful mode), batched beam
search against the same beam search run one sentence at a time, and beam against greedy.

Every figure is the best of --repeats timings, and the repeats of all figures are interleaved
in one run, so that the ratios compare timings taken under the same load. Each run is timed in
wall seconds and in CPU seconds of this process (tokenization and assembly included), the figure
to compare on a machine that other jobs share. Prints a table and, as the last line, one JSON
object with the figures. Train the default model with `make demo`.
"""
import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from seq2seq.commands.cli import run  # noqa: E402

DEMO = ROOT / "models" / "demo"
RUNS = ("greedy", "topk", "nucleus", "beam", "beam-bs1")  # beam-bs1: beam search one sentence at a time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default=str(DEMO / "model.safetensors"), help="model.safetensors written by scripts/train.py")
    p.add_argument("--csv", help="sentences to decode (default: models/demo/valid.csv if present, "
                                 "else data/sample.csv)")
    p.add_argument("--src", help="column to decode (default: the model's source column)")
    p.add_argument("--rows", type=int, default=300, help="sentences decoded per timing")
    p.add_argument("--sample", action="store_true", help="draw the --rows sentences at random (pandas `sample`, "
                                                       "random_state 0) instead of taking the first ones")
    p.add_argument("--decoders", default=",".join(RUNS), help=f"comma-separated runs to time, of: {', '.join(RUNS)}")
    p.add_argument("--repeats", type=int, default=3, help="timings per figure; the best one counts")
    p.add_argument("--bs", type=int, default=64, help="sentences per batch")
    p.add_argument("--beam-size", type=int, default=5, help="beams of the beam decoder")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    a = p.parse_args(argv)
    for name in ("rows", "repeats", "bs", "beam_size"):
        if getattr(a, name) < 1: p.error(f"--{name.replace('_', '-')} must be >= 1")
    if a.threads is not None and a.threads < 1: p.error("--threads must be >= 1")
    a.decoders = [d.strip() for d in a.decoders.split(",") if d.strip()]
    if not a.decoders or set(a.decoders) - set(RUNS):
        p.error(f"--decoders takes a comma-separated list of {', '.join(RUNS)}")
    return a


def _texts(a, learn) -> list:
    "The first --rows non-empty cells of the source column."
    import pandas as pd
    csv = Path(a.csv) if a.csv else DEMO / "valid.csv" if (DEMO / "valid.csv").is_file() else ROOT / "data" / "sample.csv"
    col = a.src or learn.meta["src"]
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    if col not in df.columns: raise ValueError(f"{csv}: no column {col!r}")
    res = [t for t in df[col] if t.strip()]
    res = pd.Series(res).sample(min(a.rows, len(res)), random_state=0).tolist() if a.sample else res[:a.rows]
    if not res: raise ValueError(f"{csv}: no sentences in column {col!r}")
    return res


def _runs(a) -> dict:
    "Name -> restore options of each timed configuration (those of --decoders)."
    K = a.beam_size
    runs = {"greedy": ("greedy", dict(decoder="greedy", bs=a.bs)),
            "topk": ("topk", dict(decoder="topk", bs=a.bs, seed=0)),
            "nucleus": ("nucleus", dict(decoder="nucleus", bs=a.bs, seed=0)),
            "beam": (f"beam-{K}", dict(decoder="beam", beam_size=K, bs=a.bs)),
            "beam-bs1": (f"beam-{K} bs=1", dict(decoder="beam", beam_size=K, bs=1))}
    return dict(runs[d] for d in RUNS if d in a.decoders)


def time_runs(learn, texts, runs: dict, repeats: int) -> tuple:
    "Best wall time and best CPU time (s) of each run in `runs` (two dicts), the repeats of all runs interleaved."
    for kw in runs.values(): learn.restore(texts[:8], **kw)  # warm-up: first-call costs are not decoding
    best, cpu = dict.fromkeys(runs, float("inf")), dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for name, kw in runs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            learn.restore(texts, **kw)
            best[name] = min(best[name], time.perf_counter() - t0)
            cpu[name] = min(cpu[name], time.process_time() - c0)
    return best, cpu


def main(argv=None):
    a = parse_args(argv)
    if not Path(a.model).exists():
        raise FileNotFoundError(f"{a.model}: no such model file; run `make demo` first (or pass --model)")
    import torch
    from seq2seq.training.learner import load_seq2seq
    if a.threads: torch.set_num_threads(a.threads)
    learn = load_seq2seq(a.model, device=None if a.device == "auto" else a.device)
    texts = _texts(a, learn)
    runs = _runs(a)
    best, cpu = time_runs(learn, texts, runs, a.repeats)
    n = len(texts)
    print(f"{n} sentences, faithful, best of {a.repeats}, {torch.get_num_threads()} thread(s), "
          f"{next(learn.model.parameters()).device}")
    print(f"{'decoder':<14}{'seconds':>10}{'sentences/s':>14}{'CPU s':>10}{'sentences/CPU-s':>18}")
    for name, t in best.items(): print(f"{name:<14}{t:>10.3f}{n / t:>14.1f}{cpu[name]:>10.3f}{n / cpu[name]:>18.1f}")
    res = _summary(a, n, best, cpu)
    res.update(rows=n, bs=a.bs, beam_size=a.beam_size, repeats=a.repeats, threads=torch.get_num_threads(),
               device=str(next(learn.model.parameters()).device))
    print(json.dumps(res))
    return res


def _summary(a, n: int, best: dict, cpu: dict) -> dict:
    "The JSON figures of the runs timed (the beam ratios when both their runs were); prints the ratios."
    K, one = a.beam_size, f"beam-{a.beam_size} bs=1"
    batched = [k for k in best if k != one]
    res = {"sents_per_s": {k: round(n / best[k], 2) for k in batched},
           "sents_per_cpu_s": {k: round(n / cpu[k], 2) for k in batched}}
    if one in best: res["beam_bs1_sents_per_s"] = round(n / best[one], 2)
    if one in best and f"beam-{K}" in best:
        res["beam_batched_speedup"] = round(best[one] / best[f"beam-{K}"], 3)
        print(f"batched beam-{K} is {res['beam_batched_speedup']:.2f}x faster than one sentence at a time")
    if "greedy" in best and f"beam-{K}" in best:
        res["beam_vs_greedy_wall"] = round(best[f"beam-{K}"] / best["greedy"], 3)
        print(f"beam-{K} takes {res['beam_vs_greedy_wall']:.2f}x greedy's wall time")
    return res


if __name__ == "__main__":
    sys.exit(run(main))
