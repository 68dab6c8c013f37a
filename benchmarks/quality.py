#!/usr/bin/env python
"""Restoration quality on a real corpus: span P/R/F1 (micro and per type), exact match,
faithfulness, BLEU and chrF of each model variant x decoder x faithful mode, with CPU cost.

The package does all the work: `training.train` fits one model per variant (plain: GRU
encoder-decoder; attn: bidirectional encoder + additive attention) on the training CSV (it
holds out --valid-pct of it for its own validation), `load_seq2seq` reloads each export and
`restore` decodes the test sentences with every decoder, faithful (output = source + tags)
and free (--no-free skips those). `metrics.text_metrics` scores them against the references.

Corpora (under --shared, read-only): meddocan (Spanish, train.csv -> dev.csv) and presidio
(English synth.csv, split 80/20 with --seed; both parts are written to OUT/data). The learning
rate is a fixed 3e-3 unless --lr or --lr-find. Costs are CPU minutes (this process and its
data-loader workers, all threads) and wall minutes, for training and decoding separately.

Writes OUT/quality.md (tables) and OUT/results.json (everything, per type included); the models
stay in OUT/models/VARIANT. A `copy` row (the source unchanged, no model) gives the floor:
the exact match and BLEU that tagging nothing already earns. Prints the tables and, as the last line, one JSON object.

    python benchmarks/quality.py                    # MEDDOCAN, about an hour of CPU
    python benchmarks/quality.py --corpus presidio --epochs 5 --out /tmp/q
"""
import argparse
import contextlib
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

from seq2seq.cli import run  # noqa: E402
from seq2seq.data import DataError, read_pairs  # noqa: E402
from seq2seq.tags import strip_tags  # noqa: E402

__all__ = ["load_corpus", "train_variant", "evaluate", "score", "run_name", "main"]

CORPORA = {"meddocan": "es", "presidio": "en"}
VARIANTS = {"plain": False, "attn": True}  # name -> attention
DECODERS = ("greedy", "beam")
METRICS = ("f1", "precision", "recall", "exact_match", "exact_match_tagged", "faithfulness", "bleu", "chrf")


def _parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--corpus", choices=sorted(CORPORA), default="meddocan")
    p.add_argument("--shared", default=str(ROOT.parent / "shared"), help="folder holding corpora/")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "quality"), help="output folder")
    p.add_argument("--train-rows", type=int, help="seeded sample of the training rows (default: all)")
    p.add_argument("--dev-rows", type=int, help="seeded sample of the test rows (default: all)")
    p.add_argument("--test-pct", type=float, default=0.2, help="presidio: share held out as the test set")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--emb-size", type=int, default=300, help="embedding size (= decoder hidden size)")
    p.add_argument("--hidden", type=int, default=256, help="encoder hidden size")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--bs", type=int, default=64, help="training batch size")
    p.add_argument("--lr", type=float, default=3e-3, help="fit_one_cycle's maximum learning rate")
    p.add_argument("--lr-find", action="store_true", help="use the rate lr_find suggests instead of --lr")
    p.add_argument("--valid-pct", type=float, default=0.1, help="share of the training rows train() holds out")
    p.add_argument("--decode-limit", type=int, default=0,
                   help="validation sentences decoded per epoch for the training log (0: none)")
    p.add_argument("--variants", default="plain,attn", help=f"comma-separated, from {','.join(VARIANTS)}")
    p.add_argument("--decoders", default="greedy,beam", help=f"comma-separated, from {','.join(DECODERS)}")
    p.add_argument("--beam-size", type=int, default=5)
    p.add_argument("--decode-bs", type=int, default=64, help="sentences decoded per batch")
    p.add_argument("--no-free", action="store_true", help="skip the runs with faithful decoding off")
    p.add_argument("--save-preds", action="store_true", help="write OUT/preds/RUN.csv for each run")
    p.add_argument("--seed", type=int, default=42, help="seed of the samples, the split and training")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    a = p.parse_args(argv)
    a.variants = _names(p, a.variants, VARIANTS, "--variants")
    a.decoders = _names(p, a.decoders, DECODERS, "--decoders")
    for name in ("train_rows", "dev_rows", "epochs", "emb_size", "hidden", "layers", "bs", "beam_size",
                 "decode_bs", "threads"):
        v = getattr(a, name)
        if v is not None and v < 1: p.error(f"--{name.replace('_', '-')} must be >= 1")
    if a.lr <= 0: p.error("--lr must be > 0")
    for name in ("valid_pct", "test_pct"):
        if not 0 < getattr(a, name) < 1: p.error(f"--{name.replace('_', '-')} must be between 0 and 1")
    return a


def _names(p, value: str, allowed, flag: str) -> list:
    "Comma-separated names, each checked against `allowed`, in the order given."
    res = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in res if v not in allowed]
    if bad or not res: p.error(f"{flag}: choose from {', '.join(allowed)} (got {value!r})")
    return list(dict.fromkeys(res))


def _sample(df: pd.DataFrame, n, seed: int) -> pd.DataFrame:
    "A seeded sample of `n` rows in their original order (all rows when `n` is None or too large)."
    if n is None or n >= len(df): return df
    idx = np.sort(np.random.RandomState(seed).permutation(len(df))[:n])
    return df.iloc[idx].reset_index(drop=True)


def load_corpus(a, out: Path):
    """(training CSV path, test pairs DataFrame, spaCy language) for `a.corpus`.

    The training CSV is the corpus file itself when used whole, else a sample or split written
    to OUT/data. Raises `DataError` with one clear line when the corpus is absent.
    """
    folder = Path(a.shared) / "corpora" / a.corpus
    files = {"meddocan": ["train.csv", "dev.csv"], "presidio": ["synth.csv"]}[a.corpus]
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise DataError(f"corpus {a.corpus!r} not found: no {folder / missing[0]} (pass --shared DIR, "
                        f"the folder holding corpora/)")
    if a.corpus == "meddocan":
        train, test = folder / "train.csv", read_pairs(folder / "dev.csv", verbose=False)
    else:
        pairs = read_pairs(folder / "synth.csv", verbose=False)
        n_test = max(1, int(round(a.test_pct * len(pairs))))
        perm = np.random.RandomState(a.seed).permutation(len(pairs))
        train, test = pairs.iloc[np.sort(perm[n_test:])], pairs.iloc[np.sort(perm[:n_test])]
        _write(test, out / "data" / "presidio_test.csv")
    if a.train_rows is not None or not isinstance(train, Path):
        df = read_pairs(train, verbose=False) if isinstance(train, Path) else train.reset_index(drop=True)
        train = _write(_sample(df, a.train_rows, a.seed), out / "data" / f"{a.corpus}_train.csv")
    return train, _sample(test.reset_index(drop=True), a.dev_rows, a.seed), CORPORA[a.corpus]


def _write(df: pd.DataFrame, path: Path) -> Path:
    "Write `df` as a CSV at `path` (folders created)."
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return path


def _cpu_s() -> float:
    "CPU seconds of this process (all threads) and of its finished children (data-loader workers)."
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@contextlib.contextmanager
def _clock(res: dict):
    "Add `cpu_min` and `wall_min` spent inside the block to `res`."
    c0, w0 = _cpu_s(), time.perf_counter()
    yield res
    res.update(cpu_min=(_cpu_s() - c0) / 60, wall_min=(time.perf_counter() - w0) / 60)


@contextlib.contextmanager
def _quiet():
    "Hide fastai's progress bars and known warnings; send its epoch tables to stderr, keeping stdout for ours."
    import fastprogress.fastprogress as fp
    orig, fp.NO_BAR = fp.NO_BAR, True
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
            warnings.simplefilter("ignore", np.VisibleDeprecationWarning)  # fastai v1's ragged arrays
            warnings.filterwarnings("ignore", message=".*pin_memory.*")   # fastai asks for it on CPU too
            yield
    finally:
        fp.NO_BAR = orig


def _log(msg: str):
    "Progress goes to stderr, so stdout holds only the tables and the JSON line."
    print(msg, file=sys.stderr, flush=True)


def train_variant(variant: str, train_csv: Path, lang: str, a, out: Path) -> dict:
    """Train the `variant` model on `train_csv` into OUT/models/VARIANT with `training.train`.

    Returns train()'s validation figures (finite ones), the model folder, `cpu_min` and `wall_min`.
    """
    from seq2seq.model import ModelConfig
    from seq2seq.training import TrainConfig, train
    from seq2seq.utils import seed_everything
    folder = out / "models" / variant
    cfg = TrainConfig(csv=str(train_csv), out=str(folder), lang=lang, epochs=a.epochs,
                      lr=None if a.lr_find else a.lr, bs=a.bs, valid_pct=a.valid_pct, seed=a.seed,
                      decode_limit=a.decode_limit,
                      model=ModelConfig(emb_size=a.emb_size, hidden=a.hidden, layers=a.layers,
                                        attention=VARIANTS[variant]))
    seed_everything(a.seed)  # same initial weights and batches for every run of a variant
    res = {"model": str(folder)}
    with _clock(res), _quiet():
        figs = train(cfg, log=lambda m: _log(f"  [{variant}] {m}"))
    res.update({k: v for k, v in figs.items() if not (isinstance(v, float) and not math.isfinite(v))})
    return res


def run_name(variant: str, decoder: str, faithful: bool) -> str:
    "'plain/greedy' for a faithful run, 'plain/greedy/free' for one with faithful decoding off."
    return f"{variant}/{decoder}" + ("" if faithful else "/free")


def evaluate(learn, test: pd.DataFrame, decoder: str, faithful: bool, a) -> tuple:
    """Decode `test.orig_text` with `learn` and score against `test.annotated_text` (see `score`).

    Returns (figures, predictions); the figures include the decoding's `cpu_min`/`wall_min`.
    """
    kw = {"beam_size": a.beam_size} if decoder == "beam" else {}
    res = {}
    with _clock(res), _quiet():
        preds = learn.restore(test["orig_text"].tolist(), decoder=decoder, faithful=faithful, bs=a.decode_bs, **kw)
    return {**score(preds, test), **res}, preds


def score(preds, test: pd.DataFrame) -> dict:
    """`text_metrics` of `preds` against `test.annotated_text`, flattened: span P/R/F1 (micro) at
    the top, `per_type` kept, plus `exact_match_tagged` (exact match over references with a tag)."""
    from seq2seq.metrics import exact_match, text_metrics
    srcs, refs = test["orig_text"].tolist(), test["annotated_text"].tolist()
    m = text_metrics(preds, refs, srcs)
    tagged = [i for i, r in enumerate(refs) if strip_tags(r) != r]
    sp = m.pop("spans")
    return {**m, "f1": sp["f1"], "precision": sp["precision"], "recall": sp["recall"], "support": sp["support"],
            "per_type": sp["per_type"], "n_tagged": len(tagged),
            "exact_match_tagged": exact_match([preds[i] for i in tagged], [refs[i] for i in tagged])}


def _table(runs: dict) -> str:
    "Markdown: one row per run, the headline metrics and the decoding cost."
    head = "| run | P | R | F1 | exact | exact (tagged) | faithful | BLEU | chrF | decode CPU min | wall min |"
    rows = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for name, r in runs.items():
        rows.append(f"| {name} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | {r['exact_match']:.4f} | "
                    f"{r['exact_match_tagged']:.4f} | {r['faithfulness']:.4f} | {r['bleu']:.2f} | {r['chrf']:.2f} | "
                    f"{r['cpu_min']:.2f} | {r['wall_min']:.2f} |")
    return "\n".join(rows)


def _type_table(runs: dict) -> str:
    "Markdown: span F1 per type (rows) and run (columns), with the reference support."
    types = sorted({t for r in runs.values() for t in r["per_type"]})
    rows = ["| type | support | " + " | ".join(runs) + " |", "|---|---|" + "---|" * len(runs)]
    for t in types:
        sup = max(r["per_type"].get(t, {}).get("support", 0) for r in runs.values())
        f1s = [f"{r['per_type'][t]['f1']:.4f}" if t in r["per_type"] else "-" for r in runs.values()]
        rows.append(f"| {t} | {sup} | " + " | ".join(f1s) + " |")
    return "\n".join(rows)


def _train_table(trained: dict) -> str:
    "Markdown: one row per variant, its training cost and its own validation figures."
    rows = ["| variant | lr | train CPU min | wall min | valid loss | token acc |", "|---|---|---|---|---|---|"]
    for v, r in trained.items():
        rows.append(f"| {v} | {r['lr']:.2e} | {r['cpu_min']:.2f} | {r['wall_min']:.2f} | "
                    f"{r.get('valid_loss', float('nan')):.4f} | {r.get('token_acc', float('nan')):.4f} |")
    return "\n".join(rows)


def _summary(a, n_train: int, n_test: int, trained: dict, runs: dict) -> dict:
    "The key figures as one flat-ish dict (the last printed line)."
    rnd = lambda x: round(float(x), 4)
    res = {"corpus": a.corpus, "n_train": n_train, "n_test": n_test}
    for k in METRICS: res["micro_f1" if k == "f1" else k] = {n: rnd(r[k]) for n, r in runs.items()}
    for k in ("cpu_min", "wall_min"):
        res[f"train_{k}"] = {v: rnd(r[k]) for v, r in trained.items()}
        res[f"decode_{k}"] = {n: rnd(r[k]) for n, r in runs.items()}
    res["lr"] = {v: float(r["lr"]) for v, r in trained.items()}
    res["config"] = {k: getattr(a, k) for k in ("epochs", "emb_size", "hidden", "layers", "bs", "beam_size",
                                                 "valid_pct", "seed", "train_rows", "dev_rows")}
    return res


def main(argv=None) -> dict:
    "Parse `argv`, train each variant, decode the test set every way, write and print the tables, then one JSON line."
    a = _parse(argv)
    import torch
    from seq2seq.learner import load_seq2seq
    if a.threads: torch.set_num_threads(a.threads)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    train_csv, test, lang = load_corpus(a, out)
    n_train = len(read_pairs(train_csv, verbose=False))
    _log(f"{a.corpus}: {n_train} training rows ({train_csv}), {len(test)} test rows, lang {lang}")
    srcs = test["orig_text"].tolist()
    # the floor every model must beat: the source unchanged is already right wherever the reference has no tag
    trained, runs, preds = {}, {"copy": {**score(srcs, test), "cpu_min": 0.0, "wall_min": 0.0}}, {"copy": srcs}
    for v in a.variants:
        _log(f"training {v} ...")
        trained[v] = train_variant(v, train_csv, lang, a, out)
        _log(f"  {v}: {trained[v]['cpu_min']:.2f} CPU min, {trained[v]['wall_min']:.2f} wall min")
        learn = load_seq2seq(trained[v]["model"])
        for d in a.decoders:
            for faithful in (True,) if a.no_free else (True, False):
                name = run_name(v, d, faithful)
                runs[name], preds[name] = evaluate(learn, test, d, faithful, a)
                _log(f"  {name}: span F1 {runs[name]['f1']:.4f}, {runs[name]['cpu_min']:.2f} CPU min")
    _write_results(a, out, test, trained, runs, preds, lang, n_train)
    res = _summary(a, n_train, len(test), trained, runs)
    print(json.dumps(res))
    return res


def _write_results(a, out: Path, test: pd.DataFrame, trained: dict, runs: dict, preds: dict, lang: str,
                   n_train: int):
    "Print the tables; write quality.md, results.json and, with --save-preds, the predictions."
    head = (f"{a.corpus} ({lang}): {n_train} training rows ({1 - a.valid_pct:.0%} fitted), {len(test)} test rows; "
            f"{a.epochs} epochs, emb {a.emb_size}, hidden {a.hidden}, layers {a.layers}, bs {a.bs}, "
            f"beam {a.beam_size}; {_threads()} thread(s)")
    md = "\n\n".join([f"# Restoration quality\n\n{head}", "## Runs\n\n" + _table(runs),
                      "## Span F1 per type\n\n" + _type_table(runs), "## Training\n\n" + _train_table(trained)])
    (out / "quality.md").write_text(md + "\n", encoding="utf-8")
    full = {"corpus": a.corpus, "lang": lang, "n_train": n_train, "n_test": len(test), "args": vars(a),
            "train": trained, "runs": runs}
    (out / "results.json").write_text(json.dumps(full, indent=2, ensure_ascii=False), encoding="utf-8")
    if a.save_preds:
        for name, ps in preds.items():
            _write(test.assign(prediction=ps), out / "preds" / (name.replace("/", "-") + ".csv"))
    print(md)
    print(f"\nwritten: {out / 'quality.md'}, {out / 'results.json'}")


def _threads() -> int:
    "torch's CPU thread count (recorded with the results)."
    import torch
    return torch.get_num_threads()


if __name__ == "__main__":
    sys.exit(run(main))
