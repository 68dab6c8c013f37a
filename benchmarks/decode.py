#!/usr/bin/env python
"""Decoding speed of a trained model: sentences/s of each decoder (faithful mode), batched beam
search against the same beam search run one sentence at a time, and beam against greedy.

Every figure is the best of --repeats timings, and the repeats of all figures are interleaved
in one run, so that the ratios compare timings taken under the same load. Prints a table and,
as the last line, one JSON object with the figures. Train the default model with `make demo`.
"""
import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from seq2seq.cli import run  # noqa: E402

DEMO = ROOT / "models" / "demo"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default=str(DEMO / "export.pkl"), help="export.pkl written by scripts/train.py")
    p.add_argument("--csv", help="sentences to decode (default: models/demo/valid.csv if present, "
                                 "else data/sample.csv)")
    p.add_argument("--src", help="column to decode (default: the model's source column)")
    p.add_argument("--rows", type=int, default=300, help="sentences decoded per timing")
    p.add_argument("--repeats", type=int, default=3, help="timings per figure; the best one counts")
    p.add_argument("--bs", type=int, default=64, help="sentences per batch")
    p.add_argument("--beam-size", type=int, default=5, help="beams of the beam decoder")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    a = p.parse_args(argv)
    for name in ("rows", "repeats", "bs", "beam_size"):
        if getattr(a, name) < 1: p.error(f"--{name.replace('_', '-')} must be >= 1")
    if a.threads is not None and a.threads < 1: p.error("--threads must be >= 1")
    return a


def _texts(a, learn) -> list:
    "The first --rows non-empty cells of the source column."
    import pandas as pd
    csv = Path(a.csv) if a.csv else DEMO / "valid.csv" if (DEMO / "valid.csv").is_file() else ROOT / "data" / "sample.csv"
    col = a.src or learn.meta["src"]
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    if col not in df.columns: raise ValueError(f"{csv}: no column {col!r}")
    res = [t for t in df[col] if t.strip()][:a.rows]
    if not res: raise ValueError(f"{csv}: no sentences in column {col!r}")
    return res


def _runs(a) -> dict:
    "Name -> restore options of each timed configuration."
    K = a.beam_size
    return {"greedy": dict(decoder="greedy", bs=a.bs), "topk": dict(decoder="topk", bs=a.bs, seed=0),
            "nucleus": dict(decoder="nucleus", bs=a.bs, seed=0),
            f"beam-{K}": dict(decoder="beam", beam_size=K, bs=a.bs),
            f"beam-{K} bs=1": dict(decoder="beam", beam_size=K, bs=1)}


def time_runs(learn, texts, runs: dict, repeats: int) -> dict:
    "Best wall time (s) of each run in `runs`, the repeats of all runs interleaved."
    for kw in runs.values(): learn.restore(texts[:8], **kw)  # warm-up: first-call costs are not decoding
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for name, kw in runs.items():
            t0 = time.perf_counter()
            learn.restore(texts, **kw)
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def main(argv=None):
    a = parse_args(argv)
    if not Path(a.model).exists():
        raise FileNotFoundError(f"{a.model}: no such model file; run `make demo` first (or pass --model)")
    import torch
    from seq2seq.learner import load_seq2seq
    if a.threads: torch.set_num_threads(a.threads)
    learn = load_seq2seq(a.model, device=None if a.device == "auto" else a.device)
    texts = _texts(a, learn)
    runs = _runs(a)
    best = time_runs(learn, texts, runs, a.repeats)
    n, K = len(texts), a.beam_size
    print(f"{n} sentences, faithful, best of {a.repeats}, {torch.get_num_threads()} thread(s), "
          f"{next(learn.model.parameters()).device}")
    print(f"{'decoder':<14}{'seconds':>10}{'sentences/s':>14}")
    for name, t in best.items(): print(f"{name:<14}{t:>10.3f}{n / t:>14.1f}")
    res = {"sents_per_s": {k: round(n / best[k], 2) for k in list(runs)[:4]},
           "beam_bs1_sents_per_s": round(n / best[f"beam-{K} bs=1"], 2),
           "beam_batched_speedup": round(best[f"beam-{K} bs=1"] / best[f"beam-{K}"], 3),
           "beam_vs_greedy_wall": round(best[f"beam-{K}"] / best["greedy"], 3),
           "rows": n, "bs": a.bs, "beam_size": K, "repeats": a.repeats,
           "threads": torch.get_num_threads(), "device": str(next(learn.model.parameters()).device)}
    print(f"batched beam-{K} is {res['beam_batched_speedup']:.2f}x faster than one sentence at a time; "
          f"beam-{K} takes {res['beam_vs_greedy_wall']:.2f}x greedy's wall time")
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    sys.exit(run(main))
