#!/usr/bin/env python
"""Weak supervision on MEDDOCAN with the gold annotations hidden from training: strict micro span
P/R/F1 on dev of (1) each family of built-in labelling functions, (2) their majority vote, (3)
skweak's HMM label model, (4) the seq2seq model trained on silver labels of train.csv and, with
--gold, (5) the same model trained on train.csv's gold labels, with CPU minutes.

The labelling functions are the built-in ones (seq2seq/weak/builtin.py: regex, context and the
general-knowledge gazetteers of seq2seq/resources/gazetteers), written without looking at dev. The HMM is
fitted, without labels, on the train texts' votes and applied to dev. The silver CSV is the
HMM's labels of train.csv (every row; a seeded --train-rows sample of it trains the end model).
One more row, clearly marked, adds gazetteers built from train.csv's *gold* spans: that leaks
train's gold into the functions, so it is not the hidden setting. Writes OUT/weak.md,
OUT/results.json, OUT/silver_train.csv, OUT/models/{silver,gold}; prints the table and, as its
last line, one JSON object.

    python benchmarks/weak.py --threads 1 --out /tmp/weak                   # labels only: minutes
    python benchmarks/weak.py --threads 1 --out /tmp/weak --train --gold    # + the two end models
"""
import argparse
import contextlib
import json
import os
import sys
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from seq2seq.commands.cli import run
from seq2seq.config import add_options, from_args
from seq2seq.errors import DataError
from seq2seq.training.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["main"]

# TrainConfig fields the benchmark sets itself (the data, where it goes, and one thread on the CPU)
_NOT_END_OPTIONS = ("csv", "out", "src", "tgt", "lang", "seed", "threads", "device", "fp16", "decode_limit",
                    "resume", "skip_bad_rows")


def _parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--shared", default=str(ROOT.parent / "shared"), help="folder holding corpora/meddocan")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "weak"), help="output folder")
    p.add_argument("--dev-rows", type=int, help="seeded sample of dev.csv (default: all)")
    p.add_argument("--train", action="store_true", help="train and score the end model on silver labels (4)")
    p.add_argument("--gold", action="store_true", help="train and score the same model on gold labels (5)")
    p.add_argument("--train-rows", type=int, help="seeded sample of train.csv the end models learn from (default: all)")
    p.add_argument("--n-iter", type=int, default=4, help="EM iterations of the HMM")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    end = p.add_argument_group("end models (4) and (5): scripts/train.py's options, its defaults")
    add_options(end, TrainConfig, prefix="end.", skip=_NOT_END_OPTIONS)
    a = p.parse_args(argv)
    for k in ("dev_rows", "train_rows", "n_iter", "threads"):
        v = getattr(a, k)
        if v is not None and v < 1: p.error(f"--{k.replace('_', '-')} must be >= 1")
    a.end = lambda csv, out: from_args(TrainConfig, a, p, prefix="end.", csv=str(csv), out=str(out), lang="es",
                                       seed=a.seed, threads=a.threads, device="cpu", decode_limit=0)
    a.end("x.csv", "x")  # a bad end-model option fails here, before the labelling work
    return a


def _cpu_s() -> float:
    "CPU seconds of this process (all threads) and its finished children."
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@contextlib.contextmanager
def _clock(res: dict, key: str = "cpu_min"):
    "Add the CPU minutes spent inside the block to `res[key]`."
    c0 = _cpu_s()
    yield res
    res[key] = res.get(key, 0.0) + (_cpu_s() - c0) / 60


def _log(msg: str):
    "Progress to stderr; stdout keeps the table and the JSON line."
    print(msg, file=sys.stderr, flush=True)


def _load(a):
    "(train, dev) DataFrames of MEDDOCAN's converted CSVs; DataError when absent."
    folder = Path(a.shared) / "corpora" / "meddocan"
    for f in ("train.csv", "dev.csv"):
        if not (folder / f).is_file(): raise DataError(f"MEDDOCAN not found: no {folder / f} (pass --shared DIR)")
    read = lambda f: pd.read_csv(folder / f, dtype=str, keep_default_na=False)
    train, dev = read("train.csv"), read("dev.csv")
    if a.dev_rows and a.dev_rows < len(dev):
        dev = dev.iloc[np.sort(np.random.RandomState(a.seed).permutation(len(dev))[:a.dev_rows])].reset_index(drop=True)
    return train, dev


def _label_rows(a, train, dev, out: Path) -> tuple:
    "Rows (1)-(3) and the leaky gazetteer row; also writes the silver train CSV. Returns (rows, silver path)."
    from seq2seq.weak.label_model import LabelModelConfig, aggregate, fit_label_model, silver_pairs
    from seq2seq.weak.builtin import builtin_lfs, default_gazetteer_lfs, gazetteers_from_csv
    from seq2seq.weak.functions import apply_lfs, family_scores, gold_spans, span_prf
    rows, gold = {}, gold_spans(list(dev.annotated_text))
    cost = {}
    with _clock(cost):
        lfs = builtin_lfs()
        v_train, v_dev = apply_lfs(list(train.orig_text), lfs, log=_log), apply_lfs(list(dev.orig_text), lfs, log=_log)
    for fam, r in family_scores(v_dev, list(dev.annotated_text)).iterrows():
        rows[f"(1) family: {fam}"] = {**r.to_dict(), "cpu_min": cost["cpu_min"]}
    res = {"cpu_min": cost["cpu_min"]}
    with _clock(res):
        spans, _ = aggregate(v_dev, LabelModelConfig("vote"), log=_log)
    rows["(2) majority vote"] = {**span_prf(spans, gold), **res}
    res = {"cpu_min": cost["cpu_min"]}
    with _clock(res):  # fitted once, without labels, on the train texts' votes; applied to dev and to train
        hmm = fit_label_model(v_train, LabelModelConfig("hmm", a.n_iter))
        spans, _ = aggregate(v_dev, model=hmm, log=_log)
    rows["(3) HMM label model"] = {**span_prf(spans, gold), **res}
    _log(f"vote F1 {rows['(2) majority vote']['f1']:.4f}, HMM F1 {rows['(3) HMM label model']['f1']:.4f}")
    with _clock(cost, "silver_cpu_min"):
        spans, confs = aggregate(v_train, model=hmm, log=_log)
        silver = out / "silver_train.csv"
        silver_pairs(v_train, spans, confs, log=_log).to_csv(silver, index=False)
    rows["silver train.csv vs its gold (not dev)"] = {**span_prf(spans, gold_spans(list(train.annotated_text))),
                                                     "cpu_min": cost["silver_cpu_min"]}
    # the leaky variant: gazetteers from train's gold spans (names, cities, hospitals, ...)
    res = {}
    with _clock(res):
        gazetteers_from_csv(Path(a.shared) / "corpora" / "meddocan" / "train.csv", out / "gaz_train_gold")
        leaky = lfs + [lf for lf in default_gazetteer_lfs(out / "gaz_train_gold")
                       if lf.name.startswith(("gaz_NAME", "gaz_LOCATION", "gaz_PROFESSION"))]
        lt, ld = apply_lfs(list(train.orig_text), leaky, log=_log), apply_lfs(list(dev.orig_text), leaky, log=_log)
        spans, _ = aggregate(ld, LabelModelConfig("hmm", a.n_iter), fit_on=lt, log=_log)
    rows["HMM + gazetteers from train GOLD spans (leaks train gold)"] = {**span_prf(spans, gold), **res}
    return rows, silver


def _end_model(a, csv: Path, dev, out: Path, name: str) -> dict:
    "Train the end model on `csv` (a seeded --train-rows sample) and score its faithful greedy decodes of dev."
    from seq2seq.training.learner import load_seq2seq
    from seq2seq.text.scores import span_scores
    from seq2seq.training.job import train
    from seq2seq.utils import seed_everything
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)[["orig_text", "annotated_text"]]
    if a.train_rows and a.train_rows < len(df):
        df = df.iloc[np.sort(np.random.RandomState(a.seed).permutation(len(df))[:a.train_rows])]
    sample = out / f"{name}_train_sample.csv"
    df.to_csv(sample, index=False)
    cfg = a.end(sample, out / "models" / name)
    res = {}
    with _clock(res, "train_cpu_min"), warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore")
        seed_everything(a.seed)
        train(cfg, log=_log)
    with _clock(res, "decode_cpu_min"), contextlib.redirect_stdout(sys.stderr):
        learn = load_seq2seq(out / "models" / name / "model.safetensors", device="cpu")
        preds = learn.restore(list(dev.orig_text), decoder="greedy")
    sc = span_scores(preds, list(dev.annotated_text))
    return {"precision": sc["precision"], "recall": sc["recall"], "f1": sc["f1"],
            "cpu_min": res["train_cpu_min"] + res["decode_cpu_min"], **res}


def _plain(d: dict) -> dict:
    "The end model's TrainConfig as JSON-ready values, without the per-model paths."
    return {k: v for k, v in d.items() if k not in ("csv", "out")}


def _table(rows: dict) -> str:
    "Markdown: one row per system."
    lines = ["| system | P | R | F1 | CPU min |", "|---|---|---|---|---|"]
    for n, r in rows.items():
        lines.append(f"| {n} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | {r['cpu_min']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    "Parse `argv`, compute every row, write OUT/weak.md and OUT/results.json, print the table and one JSON line."
    a = _parse(argv)
    import torch
    torch.set_num_threads(a.threads)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    train, dev = _load(a)
    _log(f"MEDDOCAN: {len(train)} train rows (gold hidden), {len(dev)} dev rows")
    rows, silver = _label_rows(a, train, dev, out)
    if a.train:
        rows["(4) seq2seq trained on silver"] = _end_model(a, silver, dev, out, "silver")
    if a.gold:
        gold_csv = Path(a.shared) / "corpora" / "meddocan" / "train.csv"
        rows["(5) seq2seq trained on gold"] = _end_model(a, gold_csv, dev, out, "gold")
    table = _table(rows)
    (out / "weak.md").write_text(table + "\n", encoding="utf-8")
    cfg = {**{k: getattr(a, k) for k in ("dev_rows", "train_rows", "n_iter", "seed", "threads")},
           "end_model": _plain(asdict(a.end("-", "-")))}
    res = {"n_train": len(train), "n_dev": len(dev), "rows": {n: {k: round(float(v), 4) for k, v in r.items()}
                                                              for n, r in rows.items()}, "config": cfg}
    (out / "results.json").write_text(json.dumps(res, indent=2), encoding="utf-8")
    print(table)
    print(json.dumps({"f1": {n: res["rows"][n]["f1"] for n in rows}, "config": cfg}))
    return res


if __name__ == "__main__":
    sys.exit(run(main))
