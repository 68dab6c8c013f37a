"""The training job behind scripts/train.py: CSV -> data -> learner -> lr_find -> fit_one_cycle -> files.

Every file is written to a temporary name and renamed, so an interrupted run never leaves a
half-written file in the output folder.
"""
import json
import os
import tempfile
from pathlib import Path
from typing import Optional

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import compat  # noqa: F401  (before fastai)

from ..data.pairs import read_pairs, seq2seq_data
from ..models.modelfile import MODEL_FILE
from ..models.registry import arch_of
from ..utils import atomic_write, save_png
from .callbacks import monitor_callbacks
from .checkpoint import read_checkpoint, resume
from .config import TrainConfig, auto_bs, valid_share
from .device import maybe_fp16, pick_device, set_threads, use_device
from .distributed import (
    broadcast_from_main, distributed_training, is_main_process, main_first, main_only, single_process)
from .history import AUTO, JsonlLogger, check_monitor, resolve_monitor
from .learner import export_learner, export_safe, seq2seq_learner
from .model_card import write_model_card

__all__ = ["check_writable", "train", "pick_lr", "suggest_lr", "final_metrics"]


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


def suggest_lr(learn, lo: float = 1e-4, hi: float = 1e-2):
    "lr_find's plot, with the learning rate `pick_lr` reads from its curve marked, and that rate."
    rec = learn.recorder
    lr = pick_lr(rec.lrs, [float(x) for x in rec.losses], lo, hi)
    fig = rec.plot(return_fig=True)
    ax = fig.axes[0]
    ax.axvline(lr, color="tab:red", linestyle="--", label=f"chosen lr {lr:.2e}")
    ax.legend()
    return fig, lr


def pick_lr(lrs, losses, lo: float = 1e-4, hi: float = 1e-2, skip_start: int = 10, skip_end: int = 5) -> float:
    """A learning rate from an lr_find curve (`lrs` rising, `losses` smoothed): the geometric mean of
    the steepest descent point and a tenth of the loss minimum, kept within [lo, hi].

    The steepest point is searched only in the two decades below the minimum. Over the whole curve
    (fastai's own suggestion) it sometimes falls on the noisy start: one MEDDOCAN run got 2e-6
    from a curve whose loss kept falling up to 7e-2, trained at the clamped 1e-4 and ended at span
    F1 0.73 instead of 0.95."""
    x, y = np.asarray(lrs[skip_start:len(lrs) - skip_end], float), np.asarray(losses[skip_start:len(losses) - skip_end], float)
    if len(x) < 2 or not np.isfinite(y).any(): return float(min(max(3e-3, lo), hi))
    i = int(np.nanargmin(y))
    near = np.nonzero(x[:i + 1] >= x[i] / 100)[0]
    steep = x[near[int(np.argmin(np.gradient(y[near], np.log(x[near]))))]] if len(near) > 1 else x[i] / 10
    return float(min(max(np.sqrt(steep * x[i] / 10), lo), hi))


def train(cfg: TrainConfig, log=print) -> dict:
    """Run the whole job; returns the final metrics (also written to `out/metrics.json`).

    The files written to `cfg.out` are listed in `train_config.OUTPUTS`. In multi-process training
    (seq2seq/training/distributed.py) every process runs this; rank 0 writes the files.
    """
    dev = pick_device(cfg.device)  # fail fast, before any work
    set_threads(cfg.threads)
    created = not Path(cfg.out).exists()
    out = check_writable(cfg.out)
    try:
        return _train(cfg, out, dev, log)
    except BaseException:  # an error, Ctrl-C or SIGTERM: do not leave an empty folder behind
        if created: _remove_if_empty(out)
        raise


def _remove_if_empty(folder: Path) -> None:
    "Remove `folder` if it holds no file (empty sub-folders, e.g. cache/, go with it)."
    if any(p.is_file() for p in folder.rglob("*")): return
    for p in sorted(folder.rglob("*"), key=lambda q: -len(q.parts)): p.rmdir()
    folder.rmdir()


def _train(cfg: TrainConfig, out: Path, dev, log) -> dict:
    "The body of `train`, in `out` (created and writable)."
    main, log = is_main_process(), main_only(log)  # in multi-process training only rank 0 writes files and logs
    ck = read_checkpoint(Path(cfg.resume) / "last.pth") if cfg.resume else None  # a bad file fails before the work
    pairs = read_pairs(cfg.csv, cfg.src, cfg.tgt, skip_bad_rows=cfg.skip_bad_rows)
    pct = valid_share(cfg, len(pairs))
    bs = cfg.bs or auto_bs(len(pairs) * (1 - pct))
    open_vocab = arch_of(cfg.model).open_vocab  # every training word kept, any other read from its string
    data = use_device(seq2seq_data(pairs, cfg.src, cfg.tgt, path=out, lang=cfg.lang, valid_pct=pct,
                                   seed=cfg.seed, bs=bs, src_min_freq=1 if open_vocab else None,
                                   src_open_vocab=open_vocab, augment=cfg.augment), dev)
    if main: atomic_write(out / "valid.csv", lambda p: pairs.iloc[data.valid_idx].to_csv(p, index=False))
    log(f"{len(data.train_ds)} training ({data.n_augmented} of them swapped copies, --augment) and "
        f"{len(data.valid_ds)} validation pairs; "
        f"vocab {len(data.x.vocab.itos)} source / {len(data.y.vocab.itos)} target tokens; batch size {bs}")
    with main_first():  # rank 0 trains fastText and caches the embeddings; the others then read the cache
        learn = seq2seq_learner(data, cfg.model, vectors=cfg.vectors, cache_dir=out / "cache", lang=cfg.lang,
                                src=cfg.src, tgt=cfg.tgt, teacher_forcing=cfg.teacher_forcing, decode_limit=cfg.decode_limit,
                                seed=cfg.seed, verbose=main)
    monitor = resolve_monitor(learn, cfg.monitor, cfg.decode_limit > 0)
    check_monitor(learn, monitor)  # before a long lr_find
    if cfg.monitor == AUTO: log(f"the exported epoch is the best by {monitor} (--monitor auto)")
    maybe_fp16(learn, cfg.fp16, dev)
    start, epochs, lr = _start_schedule(learn, cfg, ck, out, main, log)
    rows = []
    if start is not None and start >= epochs:
        log("nothing left to train: that run finished (or stopped early)")
    else:
        cbs = monitor_callbacks(learn, out, monitor=monitor, patience=cfg.patience)
        with distributed_training(learn, seed=cfg.seed):  # DDP when several processes run this, else nothing
            learn.fit_one_cycle(epochs, lr, start_epoch=start, callbacks=cbs)
        rows = next(cb.rows for cb in cbs if isinstance(cb, JsonlLogger))
    res = final_metrics(learn, rows, lr, out)
    if not main: return res  # the same values as rank 0's; it writes the files
    export_safe(learn, out / MODEL_FILE)  # the file to share: loading it runs no code
    export_learner(learn, out / "export.pkl")  # for fastai's load_learner (a pickle: trusted use only)
    atomic_write(out / "metrics.json", lambda p: p.write_text(json.dumps(res, indent=2)))
    write_model_card(out, cfg, res, learn)
    return res


def _start_schedule(learn, cfg: TrainConfig, ck: Optional[dict], out: Path, main: bool, log):
    "(start_epoch, epochs, lr): from the checkpoint when resuming, else from `cfg` and lr_find."
    if ck is not None:
        start = resume(learn, Path(cfg.resume) / "last.pth", ck)
        log(f"resuming {cfg.resume} at epoch {start} of {ck['schedule']['epochs']}")
        return start, ck["schedule"]["epochs"], ck["schedule"]["lr"]
    lr = cfg.lr
    if lr is None and main:  # rank 0 searches alone; the others take its lr below
        with single_process(): learn.lr_find(num_it=60)
        fig, lr = suggest_lr(learn)
        save_png(fig, out / "lr_find.png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        log(f"lr_find suggests lr={lr:.2e} (plot: {out / 'lr_find.png'})")
    return None, cfg.epochs, broadcast_from_main(lr)


def final_metrics(learn, rows: list, lr: float, out: Path) -> dict:
    """The exported (best) epoch's validation loss and metrics, from the run's `rows` (those of
    metrics.jsonl); also writes them all as history.csv."""
    if not rows: return {"lr": lr, "epochs": 0}
    if is_main_process(): atomic_write(out / "history.csv", lambda p: pd.DataFrame(rows).to_csv(p, index=False))
    best = rows[-1]["best_epoch"]
    row = next((r for r in rows if r["epoch"] == best), rows[-1])
    res = {k: v for k, v in row.items() if k not in ("seconds", "lr", "peak_rss_mb", "gpu_mem_mb", "best_epoch")}
    res.update(best_epoch=best, epochs=len(rows), lr=lr, train_size=len(learn.data.train_ds),
               augmented_size=getattr(learn.data, "n_augmented", 0), valid_size=len(learn.data.valid_ds),
               seconds=sum(r["seconds"] for r in rows))
    return res
