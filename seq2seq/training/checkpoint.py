"""Checkpoints and resuming: DIR/last.pth after every epoch (`LastCheckpoint`), read back safely
(`read_checkpoint`) and put into a Learner built like the interrupted one (`resume`). With
`callbacks.monitor_callbacks` (the whole set of callbacks of a watched, resumable run), files in DIR:

    metrics.jsonl   one JSON object per finished epoch (`history.JsonlLogger`)
    losses.png      loss curves, metrics.png: one panel per metric (redrawn every epoch)
    best.pth        weights of the best epoch so far by `monitor` (`best.SaveBest`)
    last.pth        everything needed to continue after the last finished epoch (`LastCheckpoint`)

Every file except metrics.jsonl (appended and flushed line by line) is written under a temporary
name in DIR and renamed over the old one, so a crash, even `kill -9` mid-write, leaves the last
complete file. Checkpoints hold only tensors and plain Python values: `torch.load(...,
weights_only=True)` reads them, and reading one never runs code.

Resuming: `start = resume(learn, DIR)` on a Learner built like the interrupted one, then
`learn.fit_one_cycle(epochs, lr, callbacks=monitor_callbacks(learn, DIR, ...), start_epoch=start)`.
`resume` loads the weights and leaves the checkpoint as `learn.resume_state`, which
`monitor_callbacks` hands to the callbacks' constructors. fastai's `start_epoch` makes the
OneCycleScheduler replay its schedule up to that epoch (`jump_to_epoch`); the callbacks restore
the rest (optimizer state, recorder history, the smoothed loss, RNG states, the per-epoch rows),
so the resumed run continues as if never stopped.
"""
import random
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch

from .. import compat  # noqa: F401  (before fastai)
from fastai.basic_train import LearnerCallback
from fastai.torch_core import get_model

from ..errors import CheckpointError, UserError
from .distributed import is_main_process
from .history import JsonlLogger, SmoothLoss, json_number
from .saving import atomic_save, plain

__all__ = ["LastCheckpoint", "read_checkpoint", "resume", "LAST", "CHECKPOINT_FORMAT"]

LAST = "last.pth"
CHECKPOINT_FORMAT = 1  # bump when last.pth changes in a way older code cannot read
_KIND = "seq2seq-last"
_KEYS = ("format", "kind", "epoch", "iteration", "stopped", "schedule", "batches_per_epoch", "model", "opt",
         "recorder", "smooth", "rows", "rng", "config", "meta", "vocab")


# ---------------------------------------------------------------- callbacks

class LastCheckpoint(LearnerCallback):
    """Write DIR/last.pth after every epoch: weights, optimizer state, the epoch and the batch
    count, the one-cycle schedule (epochs, lr, ...), the Recorder's history, the smoothed loss,
    the per-epoch rows, the python/numpy/torch RNG states, and the model's config, meta and
    vocabularies (for mismatch checks). On a resumed fit it restores what `resume` left.
    """
    _order = 5  # last of ours: the epoch's row, best model and stop decision are all in

    def __init__(self, learn, path, history: JsonlLogger, smooth: Optional[SmoothLoss] = None,
                 resume_state: Optional[dict] = None):
        super().__init__(learn)
        self.file, self.history, self.smooth, self.resume_state = Path(path) / LAST, history, smooth, resume_state

    def on_train_begin(self, epoch, n_epochs, **kwargs):
        self.n_epochs = n_epochs
        st = self.resume_state
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
        st = self.resume_state
        if st is None: return
        self.learn.__dict__.pop("resume_state", None)  # restored: a later fit of this Learner starts afresh
        _set_recorder(self.learn.recorder, st["recorder"])
        self.learn.opt.opt.load_state_dict(st["opt"])
        _set_rng(st["rng"])

    def on_epoch_end(self, epoch, iteration, stop_training, **kwargs):
        if is_main_process(): atomic_save(self._state(epoch, iteration, stop_training), self.file)

    def _state(self, epoch, iteration, stop_training) -> dict:
        "Everything last.pth holds, as tensors and plain Python values."
        learn, m = self.learn, get_model(self.learn.model)
        smooth = self.smooth
        return {"format": CHECKPOINT_FORMAT, "kind": _KIND, "epoch": epoch, "iteration": iteration,
                "stopped": bool(stop_training), "schedule": _schedule_state(learn, self.n_epochs),
                "batches_per_epoch": len(learn.data.train_dl), "model": m.state_dict(),
                "opt": plain(learn.opt.opt.state_dict()), "recorder": _recorder_state(learn.recorder),
                "smooth": {"mov_avg": plain(smooth.mov_avg if smooth else 0), "n": smooth.n if smooth else 0},
                "rows": self.history.rows, "rng": _rng_state(), "config": m.cfg.to_dict(), "meta": plain(m.meta),
                "vocab": {"source": list(learn.data.train_ds.x.vocab.itos),
                          "target": list(learn.data.train_ds.y.vocab.itos)}}


# ---------------------------------------------------------------- saving and restoring state

def _schedule_state(learn, n_epochs: int) -> dict:
    "The one-cycle schedule of this fit (what `fit_one_cycle` needs to rebuild it)."
    sched = getattr(learn, "one_cycle_scheduler", None)
    if sched is None: return {"epochs": n_epochs, "lr": plain(learn.opt.lr)}
    lr = sched.lr_max.tolist() if isinstance(sched.lr_max, np.ndarray) else float(sched.lr_max)
    return {"epochs": sched.tot_epochs, "lr": lr, "moms": plain(sched.moms), "div_factor": sched.div_factor,
            "pct_start": sched.pct_start, "final_div": sched.final_div}


def _recorder_state(rec) -> dict:
    "The Recorder's history: smoothed batch losses, validation losses, metrics, lrs and momentums."
    return {"losses": torch.stack([torch.as_tensor(l) for l in rec.losses]) if rec.losses else torch.zeros(0),
            "val_losses": [json_number(v) for v in rec.val_losses], "metrics": [[plain(v) for v in ms] for ms in rec.metrics],
            "lrs": plain(list(rec.lrs)), "moms": plain(list(rec.moms)), "nb_batches": list(rec.nb_batches)}


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
