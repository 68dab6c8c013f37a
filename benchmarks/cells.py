"""Validation loss of the GRU, LSTM and Mogrifier LSTM cells trained alike on the sample data.

The real pipeline (`read_pairs` -> `seq2seq_data` -> `seq2seq_learner` -> `fit_one_cycle`) runs
once per cell with the same data, sizes, epochs, learning rate, seed and fastText embeddings
(trained once, cached in DIR/cache). Recorded per cell: validation loss after each epoch
(teacher-forced), the wall time of `fit_one_cycle` alone, and the last epoch's token accuracy.
Writes DIR/cells.png (validation loss per epoch, one line per cell), prints a table and, as the
last line, one JSON object.

    python benchmarks/cells.py --epochs 5 --out benchmarks/out
"""
import argparse
import dataclasses
import contextlib
import io
import json
import time
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import torch
matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

from seq2seq.models.cells import CELLS  # noqa: E402
from seq2seq.config import add_options, from_args  # noqa: E402
from seq2seq.data.pairs import read_pairs, seq2seq_data  # noqa: E402
from seq2seq.training.learner import seq2seq_learner  # noqa: E402
from seq2seq.models.config import ModelConfig  # noqa: E402
from seq2seq.utils import seed_everything  # noqa: E402

__all__ = ["train_cell", "plot_losses", "main"]


def _parse(argv):
    "Command-line options (see the module docstring)."
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--csv", default=str(ROOT / "data" / "sample.csv"))
    p.add_argument("--rows", type=int, default=3000, help="first rows of the CSV used (train + valid)")
    p.add_argument("--epochs", type=int, default=5)
    # --emb-size --hidden --layers, as in training
    add_options(p, ModelConfig, skip=("attention", "cell", "mogrify_steps", "drop_mult"))
    p.add_argument("--lr", type=float, default=3e-3, help="fit_one_cycle's maximum learning rate")
    p.add_argument("--bs", type=int, default=64, help="batch size")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--decode-limit", type=int, default=0,
                   help="validation sentences decoded per epoch for BLEU (0: none, faster)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--workers", type=int, default=None,
                   help="data-loader worker processes (default: the pipeline's, one per CPU)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out"), help="folder for cells.png and the cache")
    a = p.parse_args(argv)
    a.model = from_args(ModelConfig, a, p)
    return a


@contextlib.contextmanager
def _quiet():
    "Hide fastai's progress bars and known warnings: on a console they would bury the table and the JSON line."
    import fastprogress.fastprogress as fp
    orig, fp.NO_BAR = fp.NO_BAR, True
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore", np.VisibleDeprecationWarning)  # fastai v1's ragged arrays
            warnings.filterwarnings("ignore", message=".*pin_memory.*")   # fastai asks for it on CPU too
            yield
    finally:
        fp.NO_BAR = orig


def train_cell(data, cell: str, args) -> dict:
    """Train a fresh model with recurrent `cell` on `data` for `args.epochs` epochs.

    Returns `valid_loss` (one per epoch), `seconds` (fit_one_cycle's wall time) and `token_acc`
    (last epoch). The seed is reset before building and before fitting, so every cell sees the
    same initial embeddings and the same batches.
    """
    cfg = dataclasses.replace(args.model, cell=cell)
    seed_everything(args.seed)
    learn = seq2seq_learner(data, cfg, cache_dir=Path(args.out) / "cache", seed=args.seed, verbose=False,
                            decode_limit=args.decode_limit, silent=True)
    seed_everything(args.seed)
    t0 = time.perf_counter()
    learn.fit_one_cycle(args.epochs, args.lr)
    secs = time.perf_counter() - t0
    rec = learn.recorder
    acc = rec.metrics[-1][[m.name for m in learn.metrics].index("token_acc")]
    return {"valid_loss": [float(v) for v in rec.val_losses], "seconds": secs, "token_acc": float(acc)}


def plot_losses(losses: dict, path: Path) -> Path:
    "Plot validation loss per epoch, one line per cell (`losses`: cell -> list), to `path` (PNG)."
    fig, ax = plt.subplots(figsize=(6, 4))
    for cell, vs in losses.items():
        ax.plot(range(1, len(vs) + 1), vs, marker="o", label=cell)
    ax.set(xlabel="epoch", ylabel="validation loss", title="Validation loss by recurrent cell")
    ax.legend()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def _table(runs: dict) -> str:
    "One row per cell: final validation loss, best, token accuracy, seconds."
    rows = [f"{'cell':<10}{'final loss':>12}{'best loss':>11}{'token acc':>11}{'seconds':>9}"]
    for cell, r in runs.items():
        rows.append(f"{cell:<10}{r['valid_loss'][-1]:>12.4f}{min(r['valid_loss']):>11.4f}"
                    f"{r['token_acc']:>11.2%}{r['seconds']:>9.1f}")
    return "\n".join(rows)


def main(argv=None) -> dict:
    "Parse `argv`, train the three cells, write the plot, print a table then one JSON line; return the result."
    args = _parse(argv)
    if args.threads: torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pairs = read_pairs(args.csv, verbose=False).iloc[:args.rows].reset_index(drop=True)
    with _quiet():
        workers = {} if args.workers is None else {"num_workers": args.workers}
        data = seq2seq_data(pairs, path=out, seed=args.seed, bs=args.bs, **workers)
        runs = {cell: train_cell(data, cell, args) for cell in CELLS}
    plot = plot_losses({c: r["valid_loss"] for c, r in runs.items()}, out / "cells.png")
    print(f"{len(data.train_ds)} training / {len(data.valid_ds)} validation pairs, {args.epochs} epochs, "
          f"lr {args.lr}, emb {args.emb_size}, hidden {args.hidden}, layers {args.layers}; plot: {plot}")
    print(_table(runs))
    res = {"valid_loss": {c: r["valid_loss"] for c, r in runs.items()},
           "seconds": {c: r["seconds"] for c, r in runs.items()},
           "final_token_acc": {c: r["token_acc"] for c, r in runs.items()},
           "config": {k: getattr(args, k) for k in ("rows", "epochs", "emb_size", "hidden", "layers", "lr", "bs", "seed")},
           "threads": torch.get_num_threads()}
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
