"""The history of a training run: a line of metrics per epoch in DIR/metrics.jsonl, the plots
drawn from it (DIR/losses.png, DIR/metrics.png), the smoothed loss, and the monitored values
(`valid_monitors`, `best_epoch`) that best-model tracking and early stopping (seq2seq/training/best.py)
judge. The callbacks are built together by `checkpoint.monitor_callbacks`.
"""
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch

from .. import compat  # noqa: F401  (before fastai)
from fastai.basic_train import LearnerCallback
from fastai.callback import AverageMetric, Callback
from fastai.core import camel2snake
from fastai.torch_core import get_model

from ..errors import UserError
from ..text.tags import is_open
from ..utils import atomic_write, save_png
from .distributed import is_distributed, is_main_process

__all__ = ["valid_monitors", "monitor_mode", "check_monitor", "resolve_monitor", "AUTO", "best_epoch", "json_number",
           "SmoothLoss", "JsonlLogger", "plot_history", "JSONL"]

JSONL = "metrics.jsonl"
AUTO = "auto"  # `--monitor auto`: see `resolve_monitor`


# ---------------------------------------------------------------- monitored values

def _metric_name(m) -> str:
    "The name fastai's CallbackHandler gives metric `m` (a Callback or a function)."
    m = m if isinstance(m, Callback) else AverageMetric(m)
    return m.name if hasattr(m, "name") else camel2snake(m.__class__.__name__)


def valid_monitors(learn) -> List[str]:
    "Names `--monitor` accepts for `learn`: valid_loss, train_loss, then each metric's name."
    return ["valid_loss", "train_loss"] + [_metric_name(m) for m in learn.metrics]


def monitor_mode(name: str) -> str:
    "'min' for losses (any name containing 'loss'), 'max' for every other metric."
    return "min" if "loss" in name else "max"


def check_monitor(learn, name: str) -> str:
    "Return the mode of monitor `name`; ValueError listing the valid names when `learn` has no such value."
    names = valid_monitors(learn)
    if name not in names: raise UserError(f"monitor {name!r}: unknown; choose one of {', '.join(names)}")
    return monitor_mode(name)


def resolve_monitor(learn, name: str, decodes: bool) -> str:
    """`name`, or for "auto" the value that judges an epoch of `learn` best: "span_f1" when each
    epoch decodes validation sentences (`decodes`) and their targets hold spans (the task that
    restores tags), else "valid_loss". The validation loss is a poor judge of the tagging it
    stands for: near its floor it moves by noise, and one MEDDOCAN run exported epoch 3 of 10 by
    it (validation span F1 0.937; epoch 8, the best by span F1, 0.953; dev F1 0.932 against 0.952)."""
    if name != AUTO: return name
    y = learn.data.valid_ds.y
    opens = {i for i, t in enumerate(y.vocab.itos) if is_open(t)}
    spans = decodes and any(opens.intersection(np.asarray(ids).tolist()) for ids in y.items)
    return "span_f1" if spans and "span_f1" in valid_monitors(learn) else "valid_loss"


def best_epoch(rows: List[dict], monitor: str) -> Optional[int]:
    """Epoch of the best `monitor` value among `rows` (dicts with 'epoch'); the first one on ties.

    Missing values (None, e.g. NaN metrics) never count; None when no row has a value.
    """
    lower = monitor_mode(monitor) == "min"
    res, best = None, None
    for r in rows:
        v = r.get(monitor)
        if v is None: continue
        if best is None or (v < best if lower else v > best): res, best = r["epoch"], v
    return res


def json_number(v) -> Optional[float]:
    "A metric as a float for JSON; None for a missing or non-finite value (strict JSON has no NaN)."
    if v is None: return None
    v = float(v)
    return v if math.isfinite(v) else None


def _mean_over_processes(losses: List[float]) -> Optional[float]:
    "Mean batch loss of the epoch; in multi-process training, over every process's batches."
    if not losses: return None
    tot = torch.tensor([float(np.sum(losses)), float(len(losses))], dtype=torch.float64)
    if is_distributed():
        if torch.distributed.get_backend() == "nccl": tot = tot.cuda()  # nccl reduces GPU tensors only
        torch.distributed.all_reduce(tot)
    return json_number(tot[0] / tot[1])


def _peak_rss_mb() -> Optional[float]:
    "Peak resident memory of this process in MiB (ru_maxrss: KiB on Linux, bytes on macOS); None without `resource`."
    try:
        import resource
    except ImportError:  # Windows
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def _gpu_mem_mb(model) -> Optional[float]:
    "Peak CUDA memory allocated so far on the model's device in MiB; None on CPU."
    p = next(model.parameters(), None)
    if p is None or p.device.type != "cuda": return None
    return torch.cuda.max_memory_allocated(p.device) / 2**20



# ---------------------------------------------------------------- callbacks

class SmoothLoss(LearnerCallback):
    """fastai's smoothed training loss, computed where a checkpoint can save and restore it.

    The moving average that the Recorder records lives in fastai's CallbackHandler, which every
    fit creates anew, so a resumed run would restart it. This callback runs first, computes the
    same bias-corrected average (beta 0.98, as the handler) and hands it on as `smooth_loss`;
    after `resume` it continues from the saved average, so recorded losses match an
    uninterrupted run.
    """
    _order = -20  # before the Recorder (-10) reads smooth_loss

    def __init__(self, learn, beta: float = 0.98, resume_state: Optional[dict] = None):
        super().__init__(learn)
        self.beta, self.mov_avg, self.n, self.resume_state = beta, 0, 0, resume_state

    def on_train_begin(self, **kwargs): self.mov_avg, self.n = 0, 0

    def jump_to_epoch(self, epoch):
        st = self.resume_state
        if st is not None: self.mov_avg, self.n = st["smooth"]["mov_avg"], st["smooth"]["n"]

    def on_backward_begin(self, last_loss, **kwargs):
        self.n += 1
        self.mov_avg = self.beta * self.mov_avg + (1 - self.beta) * last_loss.float().detach().cpu()
        return {"smooth_loss": self.mov_avg / (1 - self.beta ** self.n)}


class JsonlLogger(LearnerCallback):
    """Append one JSON object per epoch to DIR/metrics.jsonl and redraw DIR/losses.png and metrics.png.

    Fields: epoch, train_loss (mean of the epoch's raw batch losses, not fastai's smoothed
    loss), valid_loss, each metric by name (token_acc, bleu, chrf, span_f1, ...), lr (of the
    epoch's last batch), seconds (wall time of the epoch, validation included), peak_rss_mb
    (peak resident memory so far), gpu_mem_mb (peak CUDA memory so far; null on CPU) and
    best_epoch (best so far by `monitor`). Missing or non-finite values are written as null.
    A new fit starts a new file; a resumed one rewrites it from the checkpoint's rows.

    Its `rows` are the run's history: SaveBest, EarlyStop and LastCheckpoint get this logger in
    their constructors and read them.
    """
    _order = -5  # after the Recorder (-10), before the callbacks that read `rows`

    def __init__(self, learn, path, monitor: str = "valid_loss", plots: bool = True,
                 resume_state: Optional[dict] = None):
        super().__init__(learn)
        check_monitor(learn, monitor)
        self.path, self.monitor, self.plots, self.resume_state = Path(path), monitor, plots, resume_state
        self.file, self.rows = self.path / JSONL, []

    def on_train_begin(self, **kwargs):
        self.path.mkdir(parents=True, exist_ok=True)
        self.rows = []
        self._rewrite()

    def jump_to_epoch(self, epoch):
        st = self.resume_state
        if st is None: return
        self.rows = [dict(r) for r in st["rows"]]
        self._rewrite()
        if self.plots and self.rows: plot_history(self.rows, self.learn.recorder, self.path)

    def on_epoch_begin(self, **kwargs): self.start, self.losses = time.perf_counter(), []

    def on_backward_begin(self, last_loss, **kwargs):
        # here, not at batch end: fp16's loss scaling (a later callback) has not touched it yet
        self.losses.append(float(last_loss.detach()))

    def on_epoch_end(self, epoch, last_metrics, **kwargs):
        rec = self.learn.recorder
        row = {"epoch": epoch, "train_loss": _mean_over_processes(self.losses)}
        row.update(zip(["valid_loss", *rec.metrics_names], map(json_number, last_metrics or [None])))
        row.update(lr=json_number(rec.lrs[-1]) if rec.lrs else None, seconds=time.perf_counter() - self.start,
                   peak_rss_mb=_peak_rss_mb(), gpu_mem_mb=_gpu_mem_mb(get_model(self.learn.model)))
        self.rows.append(row)
        row["best_epoch"] = best_epoch(self.rows, self.monitor)
        if not is_main_process(): return  # every process keeps the rows (EarlyStop reads them); rank 0 writes
        with open(self.file, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
            os.fsync(f.fileno())
        if self.plots: plot_history(self.rows, rec, self.path)

    def _rewrite(self):
        "Replace metrics.jsonl with the current rows."
        text = "".join(json.dumps(r) + "\n" for r in self.rows)
        atomic_write(self.file, lambda p: p.write_text(text, encoding="utf-8"))



# ---------------------------------------------------------------- plots

def plot_history(rows: List[dict], recorder, path) -> None:
    "Redraw DIR/losses.png (batch and epoch losses) and DIR/metrics.png (one panel per metric) from `rows`."
    from matplotlib.figure import Figure  # no pyplot: no global figure state, any backend
    path, ep = Path(path), [r["epoch"] + 1 for r in rows]
    fig = Figure(figsize=(6, 4), layout="tight")
    ax = fig.subplots()
    if recorder.losses:  # x in epochs: batch i of the run ends at i / batches-per-epoch
        nb = max(recorder.nb_batches[0] if recorder.nb_batches else len(recorder.losses), 1)
        ax.plot(np.arange(1, len(recorder.losses) + 1) / nb, [float(l) for l in recorder.losses],
                alpha=0.4, label="train (smoothed, per batch)")
    for k in ("train_loss", "valid_loss"):
        ax.plot(ep, [_nan(r.get(k)) for r in rows], marker="o", label=k)
    ax.set_xlabel("epochs finished")
    ax.set_ylabel("loss")
    ax.legend()
    save_png(fig, path / "losses.png", dpi=80)
    names = [k for k in rows[0] if k not in _NOT_METRICS] if rows else []
    if not names: return
    nc = min(len(names), 3)
    nr = -(-len(names) // nc)
    fig = Figure(figsize=(3.6 * nc, 2.8 * nr), layout="tight")
    for ax, k in zip(np.atleast_1d(fig.subplots(nr, nc)).flat, names):
        ax.plot(ep, [_nan(r.get(k)) for r in rows], marker="o")
        ax.set_title(k)
        ax.set_xlabel("epochs finished")
    save_png(fig, path / "metrics.png", dpi=80)


_NOT_METRICS = {"epoch", "train_loss", "valid_loss", "lr", "seconds", "peak_rss_mb", "gpu_mem_mb", "best_epoch"}


def _nan(v) -> float:
    "None -> NaN, for matplotlib (a gap in the line)."
    return float("nan") if v is None else v


