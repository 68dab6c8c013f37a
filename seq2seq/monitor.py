"""Watching and keeping a training run: a line of metrics and fresh plots per epoch, the best
model by a monitored value, early stopping, and a checkpoint to resume from after every epoch.

Each is a fastai callback for one `fit_one_cycle`; `monitor_callbacks` builds the set. Files in
the run's folder DIR:

    metrics.jsonl   one JSON object per finished epoch (`JsonlLogger`)
    losses.png      loss curves, metrics.png: one panel per metric (redrawn every epoch)
    best.pth        weights of the best epoch so far by `monitor` (`SaveBest`)
    last.pth        everything needed to continue after the last finished epoch (`LastCheckpoint`)

Every file except metrics.jsonl (appended and flushed line by line) is written under a temporary
name in DIR and renamed over the old one, so a crash, even `kill -9` mid-write, leaves the last
complete file. Checkpoints hold only tensors and plain Python values: `torch.load(...,
weights_only=True)` reads them, and reading one never runs code.

Resuming: `start = resume(learn, DIR)` on a Learner built like the interrupted one, then
`learn.fit_one_cycle(epochs, lr, callbacks=monitor_callbacks(learn, DIR, ...), start_epoch=start)`.
fastai's `start_epoch` makes the OneCycleScheduler replay its schedule up to that epoch
(`jump_to_epoch`); the callbacks here restore the rest (optimizer state, recorder history, the
smoothed loss, RNG states, the per-epoch rows), so the resumed run continues as if never stopped.
"""
import json
import math
import os
import random
import sys
import time
import warnings
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch

from . import compat  # noqa: F401  (before fastai)
from fastai.basic_train import LearnerCallback
from fastai.callback import AverageMetric, Callback
from fastai.core import camel2snake
from fastai.torch_core import get_model

from .distributed import is_distributed, is_main_process
from .errors import CheckpointError, UserError
from .utils import atomic_write

__all__ = ["CheckpointError", "valid_monitors", "monitor_mode", "check_monitor", "best_epoch", "atomic_save",
           "SmoothLoss", "JsonlLogger", "SaveBest", "EarlyStop", "LastCheckpoint", "monitor_callbacks",
           "read_checkpoint", "resume", "plot_history", "JSONL", "BEST", "LAST"]

JSONL, BEST, LAST = "metrics.jsonl", "best.pth", "last.pth"
CHECKPOINT_FORMAT = 1  # bump when last.pth changes in a way older code cannot read
_KIND = "seq2seq-last"
_KEYS = ("format", "kind", "epoch", "iteration", "stopped", "schedule", "batches_per_epoch", "model", "opt",
         "recorder", "smooth", "rows", "rng", "config", "meta", "vocab")


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


def _num(v) -> Optional[float]:
    "A metric as a float for JSON; None for a missing or non-finite value (strict JSON has no NaN)."
    if v is None: return None
    v = float(v)
    return v if math.isfinite(v) else None


# ---------------------------------------------------------------- files

def _write_atomically(path: Path, write) -> Path:
    "Call `write(f)` on a binary temporary file in `path`'s folder and put it in place atomically."
    def write_file(tmp):
        with open(tmp, "wb") as f: write(f)
    return atomic_write(path, write_file)


def atomic_save(obj, path) -> Path:
    "`torch.save(obj)` to `path` such that a crash at any moment leaves either the old or the new file."
    return _write_atomically(Path(path), lambda f: torch.save(obj, f))


def _plain(o):
    "`o` with numpy values made Python/tensor ones, so that `torch.load(weights_only=True)` reads it back."
    if isinstance(o, torch.Tensor): return o.detach()
    if isinstance(o, np.ndarray): return torch.from_numpy(np.ascontiguousarray(o))
    if isinstance(o, np.generic): return o.item()
    if isinstance(o, dict): return {k: _plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)): return type(o)(_plain(v) for v in o)
    if o is None or isinstance(o, (bool, int, float, str)): return o
    raise TypeError(f"cannot store a {type(o).__name__} in a checkpoint")


def _mean_over_processes(losses: List[float]) -> Optional[float]:
    "Mean batch loss of the epoch; in multi-process training, over every process's batches."
    if not losses: return None
    tot = torch.tensor([float(np.sum(losses)), float(len(losses))], dtype=torch.float64)
    if is_distributed():
        if torch.distributed.get_backend() == "nccl": tot = tot.cuda()  # nccl reduces GPU tensors only
        torch.distributed.all_reduce(tot)
    return _num(tot[0] / tot[1])


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


def _resume_state(learn) -> Optional[dict]:
    "The checkpoint `resume` left for the callbacks of the next fit, if any."
    return getattr(learn, "resume_state", None)


def _rows(learn) -> List[dict]:
    "The per-epoch rows of the JsonlLogger in this fit (the history SaveBest and EarlyStop judge)."
    logger = getattr(learn, "jsonl_logger", None)
    if logger is None: raise RuntimeError("SaveBest, EarlyStop and LastCheckpoint need a JsonlLogger in the same "
                                          "fit; build them with monitor_callbacks")
    return logger.rows


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

    def __init__(self, learn, beta: float = 0.98):
        super().__init__(learn)
        self.beta, self.mov_avg, self.n = beta, 0, 0

    def on_train_begin(self, **kwargs): self.mov_avg, self.n = 0, 0

    def jump_to_epoch(self, epoch):
        st = _resume_state(self.learn)
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

    Its `rows` are the run's history, read by SaveBest, EarlyStop and LastCheckpoint.
    """
    _order = -5  # after the Recorder (-10), before the callbacks that read `rows`

    def __init__(self, learn, path, monitor: str = "valid_loss", plots: bool = True):
        super().__init__(learn)
        check_monitor(learn, monitor)
        self.path, self.monitor, self.plots = Path(path), monitor, plots
        self.file, self.rows = self.path / JSONL, []

    def on_train_begin(self, **kwargs):
        self.path.mkdir(parents=True, exist_ok=True)
        self.rows = []
        self._rewrite()

    def jump_to_epoch(self, epoch):
        st = _resume_state(self.learn)
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
        row.update(zip(["valid_loss", *rec.metrics_names], map(_num, last_metrics or [None])))
        row.update(lr=_num(rec.lrs[-1]) if rec.lrs else None, seconds=time.perf_counter() - self.start,
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
        _write_atomically(self.file, lambda f: f.write(text.encode("utf-8")))


class SaveBest(LearnerCallback):
    """Write the weights of each new best epoch by `monitor` to DIR/best.pth; with `load_best`,
    put the best weights back into the model when training ends (not after a crash)."""
    _order = 1  # after the JsonlLogger has added the epoch's row

    def __init__(self, learn, path, monitor: str = "valid_loss", load_best: bool = True):
        super().__init__(learn)
        check_monitor(learn, monitor)
        self.file, self.monitor, self.load_best = Path(path) / BEST, monitor, load_best

    def on_epoch_end(self, epoch, **kwargs):
        rows = _rows(self.learn)
        if best_epoch(rows, self.monitor) != epoch or not is_main_process(): return
        m = get_model(self.learn.model)
        atomic_save({"kind": "seq2seq-best", "epoch": epoch, "monitor": self.monitor, "value": rows[-1][self.monitor],
                     "model": m.state_dict(), "config": m.cfg.to_dict(), "meta": _plain(m.meta)}, self.file)

    def on_train_end(self, exception, **kwargs):
        rows = _rows(self.learn)
        if exception or not self.load_best or not rows: return
        best = best_epoch(rows, self.monitor)
        if best is None or best == rows[-1]["epoch"]: return  # the model already holds these weights
        if not self.file.is_file():  # e.g. resumed into another folder than the interrupted run's
            warnings.warn(f"{self.file} is missing; keeping the last epoch's weights, not epoch {best}'s")
            return
        st = torch.load(self.file, map_location="cpu", weights_only=True)
        if st.get("epoch") != best: raise CheckpointError(f"{self.file}: holds epoch {st.get('epoch')}, not the best "
                                                          f"epoch {best}")
        get_model(self.learn.model).load_state_dict(st["model"])


class EarlyStop(LearnerCallback):
    """Stop training once `patience` epochs in a row bring no better `monitor` value.

    (fastai's EarlyStoppingCallback stops after patience + 1 such epochs and forgets its count
    when a run is resumed; this one judges the restored history.)
    """
    _order = 2  # after the JsonlLogger has added the epoch's row

    def __init__(self, learn, monitor: str = "valid_loss", patience: int = 3):
        super().__init__(learn)
        check_monitor(learn, monitor)
        if patience < 1: raise UserError(f"patience must be >= 1, got {patience}")
        self.monitor, self.patience, self.stopped_epoch = monitor, patience, None

    def on_epoch_end(self, epoch, **kwargs):
        best = best_epoch(_rows(self.learn), self.monitor)
        if epoch - (-1 if best is None else best) < self.patience: return
        self.stopped_epoch = epoch
        if not self.learn.silent:
            print(f"epoch {epoch}: no better {self.monitor} for {self.patience} epoch(s); stopping early")
        return {"stop_training": True}


class LastCheckpoint(LearnerCallback):
    """Write DIR/last.pth after every epoch: weights, optimizer state, the epoch and the batch
    count, the one-cycle schedule (epochs, lr, ...), the Recorder's history, the smoothed loss,
    the per-epoch rows, the python/numpy/torch RNG states, and the model's config, meta and
    vocabularies (for mismatch checks). On a resumed fit it restores what `resume` left.
    """
    _order = 5  # last of ours: the epoch's row, best model and stop decision are all in

    def __init__(self, learn, path):
        super().__init__(learn)
        self.file = Path(path) / LAST

    def on_train_begin(self, epoch, n_epochs, **kwargs):
        self.n_epochs = n_epochs
        st = _resume_state(self.learn)
        if st is None: return
        if epoch != st["epoch"] + 1:
            raise UserError(f"the checkpoint ends after epoch {st['epoch']}; continue it with "
                             f"fit_one_cycle(..., start_epoch={st['epoch'] + 1}), not start_epoch={epoch}")
        was, now = st["schedule"], _schedule_state(self.learn, n_epochs)
        if was["epochs"] != now["epochs"] or not np.allclose(was["lr"], now["lr"]):
            raise UserError(f"the checkpoint's run has epochs={was['epochs']}, lr={was['lr']}; resume it with "
                             f"the same schedule, not epochs={now['epochs']}, lr={now['lr']}")
        return {"iteration": st["iteration"]}

    def jump_to_epoch(self, epoch):
        # after every on_train_begin: fp16 builds its optimizer there, and the RNGs must be set last
        st = self.learn.__dict__.pop("resume_state", None)
        if st is None: return
        _set_recorder(self.learn.recorder, st["recorder"])
        self.learn.opt.opt.load_state_dict(st["opt"])
        _set_rng(st["rng"])

    def on_epoch_end(self, epoch, iteration, stop_training, **kwargs):
        if is_main_process(): atomic_save(self._state(epoch, iteration, stop_training), self.file)

    def _state(self, epoch, iteration, stop_training) -> dict:
        "Everything last.pth holds, as tensors and plain Python values."
        learn, m = self.learn, get_model(self.learn.model)
        smooth = learn.smooth_loss if isinstance(getattr(learn, "smooth_loss", None), SmoothLoss) else None
        return {"format": CHECKPOINT_FORMAT, "kind": _KIND, "epoch": epoch, "iteration": iteration,
                "stopped": bool(stop_training), "schedule": _schedule_state(learn, self.n_epochs),
                "batches_per_epoch": len(learn.data.train_dl), "model": m.state_dict(),
                "opt": _plain(learn.opt.opt.state_dict()), "recorder": _recorder_state(learn.recorder),
                "smooth": {"mov_avg": _plain(smooth.mov_avg if smooth else 0), "n": smooth.n if smooth else 0},
                "rows": _rows(learn), "rng": _rng_state(), "config": m.cfg.to_dict(), "meta": _plain(m.meta),
                "vocab": {"source": list(learn.data.train_ds.x.vocab.itos),
                          "target": list(learn.data.train_ds.y.vocab.itos)}}


def monitor_callbacks(learn, path, monitor: str = "valid_loss", patience: Optional[int] = None,
                      save_best: bool = True, plots: bool = True) -> list:
    """The callbacks of a watched, resumable run, for `fit_one_cycle(..., callbacks=...)`.

    Args:
        path: the run's folder (metrics.jsonl, losses.png, metrics.png, best.pth, last.pth).
        monitor: the value that picks the best epoch (see `valid_monitors`); losses are
            minimised, other metrics maximised.
        patience: stop after this many epochs without a better `monitor`; None never stops early.
        save_best: keep DIR/best.pth and load it into the model when training ends.
    Pass them to the fit only (not `learn.callbacks`), so that `lr_find` does not trigger them.
    """
    check_monitor(learn, monitor)
    Path(path).mkdir(parents=True, exist_ok=True)
    cbs = [SmoothLoss(learn), JsonlLogger(learn, path, monitor, plots)]
    if save_best: cbs.append(SaveBest(learn, path, monitor))
    if patience is not None: cbs.append(EarlyStop(learn, monitor, patience))
    return cbs + [LastCheckpoint(learn, path)]


# ---------------------------------------------------------------- saving and restoring state

def _schedule_state(learn, n_epochs: int) -> dict:
    "The one-cycle schedule of this fit (what `fit_one_cycle` needs to rebuild it)."
    sched = getattr(learn, "one_cycle_scheduler", None)
    if sched is None: return {"epochs": n_epochs, "lr": _plain(learn.opt.lr)}
    lr = sched.lr_max.tolist() if isinstance(sched.lr_max, np.ndarray) else float(sched.lr_max)
    return {"epochs": sched.tot_epochs, "lr": lr, "moms": _plain(sched.moms), "div_factor": sched.div_factor,
            "pct_start": sched.pct_start, "final_div": sched.final_div}


def _recorder_state(rec) -> dict:
    "The Recorder's history: smoothed batch losses, validation losses, metrics, lrs and momentums."
    return {"losses": torch.stack([torch.as_tensor(l) for l in rec.losses]) if rec.losses else torch.zeros(0),
            "val_losses": [_num(v) for v in rec.val_losses], "metrics": [[_plain(v) for v in ms] for ms in rec.metrics],
            "lrs": _plain(list(rec.lrs)), "moms": _plain(list(rec.moms)), "nb_batches": list(rec.nb_batches)}


def _set_recorder(rec, st: dict):
    "Put a saved history back into a Recorder (types as the Recorder itself records them)."
    rec.losses = list(st["losses"])
    rec.val_losses = [None if v is None else np.float32(v) for v in st["val_losses"]]
    rec.metrics = [list(ms) for ms in st["metrics"]]
    rec.lrs, rec.moms, rec.nb_batches = list(st["lrs"]), list(st["moms"]), list(st["nb_batches"])


def _rng_state() -> dict:
    "The python, numpy, torch (and CUDA) RNG states as plain values and tensors."
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    return {"python": random.getstate(), "torch": torch.get_rng_state(), "cuda": cuda,
            "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}}


def _set_rng(st: dict):
    "Restore the RNG states saved by `_rng_state`."
    version, internal, gauss = st["python"]
    random.setstate((version, tuple(internal), gauss))
    n = st["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(st["torch"])
    if st["cuda"] and torch.cuda.is_available() and len(st["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(st["cuda"])


def read_checkpoint(path) -> dict:
    """Load DIR/last.pth (or the file `path`) safely (`weights_only=True`) and check it is complete.

    The result's "schedule" holds the epochs and lr of the interrupted `fit_one_cycle`.
    Raises `CheckpointError` for a missing, corrupt, truncated or foreign file.
    """
    path = Path(path)
    if path.is_dir(): path = path / LAST
    if not path.is_file(): raise CheckpointError(f"{path}: no checkpoint to resume from (one is written after "
                                                 f"each finished epoch)")
    try:
        st = torch.load(path, map_location="cpu", weights_only=True)
    except (PermissionError, FileNotFoundError, IsADirectoryError):
        raise  # cannot be read at all: not a damaged file
    except Exception as e:  # a truncated or garbled file fails anywhere in torch's zip and unpickling code
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise CheckpointError(f"checkpoint {path} is corrupt or incomplete ({type(e).__name__}: {msg[:200]})") from e
    missing = [k for k in _KEYS if k not in st] if isinstance(st, dict) else list(_KEYS)
    if missing or st["kind"] != _KIND:
        raise CheckpointError(f"checkpoint {path} is corrupt or incomplete (not a last.pth of this tool; "
                              f"missing {', '.join(missing) or 'its marker'})")
    if st["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(f"checkpoint {path}: format {st['format']}, this version reads {CHECKPOINT_FORMAT}")
    return st


def _mismatches(learn, st: dict) -> List[str]:
    "How `learn` differs from the run that wrote checkpoint `st`, one phrase per difference."
    now, then = learn.model.cfg.to_dict(), st["config"]
    res = [f"{k} {then.get(k)} in the checkpoint, {now.get(k)} now"
           for k in sorted(set(now) | set(then)) if now.get(k) != then.get(k)]
    meta = learn.model.meta
    res += [f"{k} {st['meta'].get(k)!r} in the checkpoint, {meta.get(k)!r} now"
            for k in ("task", "lang", "src", "tgt") if meta.get(k) != st["meta"].get(k)]
    for side, ll in (("source", learn.data.train_ds.x), ("target", learn.data.train_ds.y)):
        a, b = st["vocab"][side], list(ll.vocab.itos)
        if a != b: res.append(f"{side} vocabulary of {len(a)} tokens in the checkpoint, {len(b)} now"
                              + (" (same size, other tokens)" if len(a) == len(b) else ""))
    nb = len(learn.data.train_dl)
    if nb != st["batches_per_epoch"]:
        res.append(f"{st['batches_per_epoch']} batches per epoch in the checkpoint, {nb} now (other --bs or data?)")
    return res


def resume(learn, path, state: Optional[dict] = None) -> int:
    """Prepare `learn` to continue the run whose checkpoint is DIR/last.pth; returns the start epoch.

    Checks that `learn` was built like the interrupted run (model config, task, columns,
    vocabularies, batches per epoch; ValueError naming each difference), loads the weights now,
    and leaves the rest for the `monitor_callbacks` of the next `fit_one_cycle(epochs, lr,
    start_epoch=<the result>)`, with epochs and lr from `read_checkpoint(path)["schedule"]`.
    A result >= those epochs means nothing is left to train (finished or stopped early).
    A resumed run repeats the uninterrupted one exactly on CPU; with `--fp16` the fp32 master
    weights are rebuilt from the saved fp16 ones, so it continues closely, not bit for bit.

    Args:
        state: the checkpoint already read with `read_checkpoint` (read from `path` otherwise).
    """
    st = state if state is not None else read_checkpoint(path)
    problems = _mismatches(learn, st)
    if problems: raise UserError(f"resume {path}: " + "; ".join(problems))
    learn.model.load_state_dict(st["model"])
    learn.resume_state = st
    return st["schedule"]["epochs"] if st["stopped"] else st["epoch"] + 1


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
    _save_fig(fig, path / "losses.png")
    names = [k for k in rows[0] if k not in _NOT_METRICS] if rows else []
    if not names: return
    nc = min(len(names), 3)
    nr = -(-len(names) // nc)
    fig = Figure(figsize=(3.6 * nc, 2.8 * nr), layout="tight")
    for ax, k in zip(np.atleast_1d(fig.subplots(nr, nc)).flat, names):
        ax.plot(ep, [_nan(r.get(k)) for r in rows], marker="o")
        ax.set_title(k)
        ax.set_xlabel("epochs finished")
    _save_fig(fig, path / "metrics.png")


_NOT_METRICS = {"epoch", "train_loss", "valid_loss", "lr", "seconds", "peak_rss_mb", "gpu_mem_mb", "best_epoch"}


def _nan(v) -> float:
    "None -> NaN, for matplotlib (a gap in the line)."
    return float("nan") if v is None else v


def _save_fig(fig, path: Path):
    "Write a matplotlib Figure as PNG atomically."
    _write_atomically(path, lambda f: fig.savefig(f, format="png", dpi=80))
