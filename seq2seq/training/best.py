"""The best model of a run and early stopping, both judged on the run's history (`JsonlLogger.rows`):
DIR/best.pth holds the weights of the best epoch by the monitored value (`SaveBest`), and
`EarlyStop` ends training after `patience` epochs without a better one.
"""
import warnings
from pathlib import Path

import torch

from .. import compat  # noqa: F401  (before fastai)
from fastai.basic_train import LearnerCallback
from fastai.torch_core import get_model

from ..errors import CheckpointError, UserError
from .distributed import is_main_process
from .history import JsonlLogger, best_epoch, check_monitor
from .saving import atomic_save, plain

__all__ = ["SaveBest", "EarlyStop", "BEST"]

BEST = "best.pth"


class SaveBest(LearnerCallback):
    """Write the weights of each new best epoch by `monitor` to DIR/best.pth; with `load_best`,
    put the best weights back into the model when training ends (not after a crash)."""
    _order = 1  # after the JsonlLogger has added the epoch's row

    def __init__(self, learn, path, history: JsonlLogger, monitor: str = "valid_loss", load_best: bool = True):
        super().__init__(learn)
        check_monitor(learn, monitor)
        self.file, self.history, self.monitor, self.load_best = Path(path) / BEST, history, monitor, load_best

    def on_epoch_end(self, epoch, **kwargs):
        rows = self.history.rows
        if best_epoch(rows, self.monitor) != epoch or not is_main_process(): return
        m = get_model(self.learn.model)
        atomic_save({"kind": "seq2seq-best", "epoch": epoch, "monitor": self.monitor, "value": rows[-1][self.monitor],
                     "model": m.state_dict(), "config": m.cfg.to_dict(), "meta": plain(m.meta)}, self.file)

    def on_train_end(self, exception, **kwargs):
        rows = self.history.rows
        if exception or not self.load_best or not rows: return
        best = best_epoch(rows, self.monitor)
        if best is None or best == rows[-1]["epoch"]: return  # the model already holds these weights
        if not self.file.is_file():  # e.g. resumed into another folder than the interrupted run's
            warnings.warn(f"{self.file} is missing; keeping the last epoch's weights, not epoch {best}'s")
            return
        st = torch.load(self.file, map_location="cpu", weights_only=True)
        if st.get("epoch") != best and st.get("monitor") != self.monitor:  # a run resumed under another --monitor
            warnings.warn(f"{self.file} holds the best epoch by {st.get('monitor')}, the interrupted run's monitor; "
                          f"keeping the last epoch's weights, not epoch {best}'s (the best by {self.monitor})")
            return
        if st.get("epoch") != best: raise CheckpointError(f"{self.file}: holds epoch {st.get('epoch')}, not the best "
                                                          f"epoch {best}")
        get_model(self.learn.model).load_state_dict(st["model"])


class EarlyStop(LearnerCallback):
    """Stop training once `patience` epochs in a row bring no better `monitor` value.

    (fastai's EarlyStoppingCallback stops after patience + 1 such epochs and forgets its count
    when a run is resumed; this one judges the restored history.)
    """
    _order = 2  # after the JsonlLogger has added the epoch's row

    def __init__(self, learn, history: JsonlLogger, monitor: str = "valid_loss", patience: int = 3):
        super().__init__(learn)
        check_monitor(learn, monitor)
        if patience < 1: raise UserError(f"patience must be >= 1, got {patience}")
        self.history, self.monitor, self.patience, self.stopped_epoch = history, monitor, patience, None

    def on_epoch_end(self, epoch, **kwargs):
        best = best_epoch(self.history.rows, self.monitor)
        if epoch - (-1 if best is None else best) < self.patience: return
        self.stopped_epoch = epoch
        if not self.learn.silent:
            print(f"epoch {epoch}: no better {self.monitor} for {self.patience} epoch(s); stopping early")
        return {"stop_training": True}
