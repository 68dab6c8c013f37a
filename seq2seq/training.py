"""The training job behind scripts/train.py: CSV -> data -> learner -> lr_find -> fit_one_cycle -> files.

Every file is written to a temporary name and renamed, so an interrupted run never leaves a
half-written file in the output folder.
"""
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

import matplotlib
matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402

from . import compat  # noqa: F401,E402  (before fastai)
from fastai.callbacks import CSVLogger  # noqa: E402

from .data import read_pairs, seq2seq_data  # noqa: E402
from .distributed import (broadcast_from_main, distributed_training, is_main_process, main_first,  # noqa: E402
                          main_only, single_process)
from .learner import export_learner, seq2seq_learner  # noqa: E402
from .model import ModelConfig  # noqa: E402

__all__ = ["TrainConfig", "check_writable", "train", "atomic_write"]


@dataclass
class TrainConfig:
    "Everything a training run needs; scripts/train.py fills it from the command line."
    csv: str = "data/sample.csv"
    out: str = "models/sample"
    src: str = "orig_text"
    tgt: str = "annotated_text"
    lang: str = "en"
    vectors: Optional[str] = None
    epochs: int = 10
    lr: Optional[float] = None
    bs: int = 64
    valid_pct: float = 0.1
    seed: int = 42
    model: ModelConfig = field(default_factory=ModelConfig)
    pr_force: tuple = (1.0, 1.0, 5)
    decode_limit: int = 1000


def check_writable(out) -> Path:
    "Create `out` if needed and prove a file can be written there; raise OSError with a clear line if not."
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".probe-")
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise OSError(f"--out {out}: not writable ({e.strerror or e})") from None
    return out


def atomic_write(path: Path, write) -> Path:
    "Call `write(tmp_path)` then rename onto `path`."
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp): os.remove(tmp)
    return path


def _save_fig(fig, path: Path):
    "Save a matplotlib figure atomically and close it."
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=100, bbox_inches="tight"))
    plt.close(fig)


def suggest_lr(learn, lo: float = 1e-4, hi: float = 1e-2):
    """lr_find's plot and a learning rate from it: the smaller of fastai's steepest-descent point
    and a tenth of the loss minimum (the steepest point alone is often too aggressive for RNNs),
    kept within [lo, hi]."""
    rec = learn.recorder
    fig = rec.plot(suggestion=True, return_fig=True)
    lrs, losses = np.array(rec.lrs[10:-5]), np.array([float(x) for x in rec.losses[10:-5]])
    cands = [lrs[losses.argmin()] / 10] if len(lrs) else []
    if getattr(rec, "min_grad_lr", None): cands.append(rec.min_grad_lr)
    lr = min(cands) if cands else 3e-3
    return fig, float(min(max(lr, lo), hi))


def train(cfg: TrainConfig, log=print) -> dict:
    """Run the whole job; returns the final metrics (also written to `out/metrics.json`).

    Files in `cfg.out`: valid.csv (the held-out rows), lr_find.png, losses.png, history.csv, metrics.json, export.pkl.
    In multi-process training (seq2seq/distributed.py) every process runs this; rank 0 writes the files.
    """
    out = check_writable(cfg.out)
    main, log = is_main_process(), main_only(log)  # in multi-process training only rank 0 writes files and logs
    pairs = read_pairs(cfg.csv, cfg.src, cfg.tgt)
    data = seq2seq_data(pairs, cfg.src, cfg.tgt, path=out, lang=cfg.lang, valid_pct=cfg.valid_pct,
                        seed=cfg.seed, bs=cfg.bs)
    if main: atomic_write(out / "valid.csv", lambda p: pairs.iloc[data.valid_idx].to_csv(p, index=False))
    log(f"{len(data.train_ds)} training and {len(data.valid_ds)} validation pairs; "
        f"vocab {len(data.x.vocab.itos)} source / {len(data.y.vocab.itos)} target tokens")
    with main_first():  # rank 0 trains fastText and caches the embeddings; the others then read the cache
        learn = seq2seq_learner(data, cfg.model, vectors=cfg.vectors, cache_dir=out / "cache", lang=cfg.lang,
                                src=cfg.src, tgt=cfg.tgt, pr_force=cfg.pr_force, decode_limit=cfg.decode_limit,
                                seed=cfg.seed, verbose=main)
    lr = cfg.lr
    if lr is None and main:  # rank 0 searches alone; the others take its lr below
        with single_process(): learn.lr_find()
        fig, lr = suggest_lr(learn)
        _save_fig(fig, out / "lr_find.png")
        log(f"lr_find suggests lr={lr:.2e} (plot: {out / 'lr_find.png'})")
    lr = broadcast_from_main(lr)
    logger = CSVLogger(learn, filename=".history")
    if main: learn.callbacks.append(logger)
    with distributed_training(learn, seed=cfg.seed):  # DDP when several processes run this, else nothing
        learn.fit_one_cycle(cfg.epochs, lr)
    if not main: return final_metrics(learn, lr)  # the same values as rank 0's; it writes the files
    learn.callbacks.remove(logger)  # it holds an open file, which an export cannot pickle
    os.replace(out / ".history.csv", out / "history.csv")
    _save_fig(learn.recorder.plot_losses(return_fig=True), out / "losses.png")
    export_learner(learn, out / "export.pkl")
    res = final_metrics(learn, lr)
    atomic_write(out / "metrics.json", lambda p: p.write_text(json.dumps(res, indent=2)))
    return res


def final_metrics(learn, lr: float) -> dict:
    "Last epoch's validation loss and metrics as a plain dict."
    rec = learn.recorder
    names = [m.name for m in learn.metrics]
    res = {"valid_loss": float(rec.val_losses[-1]), **{n: float(v) for n, v in zip(names, rec.metrics[-1])}}
    res.update(epochs=len(rec.val_losses), lr=lr, train_size=len(learn.data.train_ds),
               valid_size=len(learn.data.valid_ds))
    return res
