"""Changes to fastai's training loop: the teacher-forcing schedule (options: `TeacherForcingConfig`),
and `monitor_callbacks`, the whole set of callbacks of a watched, resumable run (training/history.py,
training/best.py, training/checkpoint.py)."""
from pathlib import Path
from typing import Optional

from .. import compat  # noqa: F401  (before fastai)
from fastai.basic_train import LearnerCallback
from fastai.torch_core import get_model

from .best import EarlyStop, SaveBest
from .checkpoint import LastCheckpoint
from .config import TeacherForcingConfig
from .history import JsonlLogger, SmoothLoss, check_monitor

__all__ = ["TeacherForcing", "linear_pr_force", "monitor_callbacks"]


def linear_pr_force(progress: float, cfg: TeacherForcingConfig) -> float:
    "Probability of feeding the truth after `progress` epochs: linear from `cfg.start` to `cfg.floor`."
    if cfg.decay_epochs <= 0: return cfg.floor
    return max(cfg.floor, cfg.start - (cfg.start - cfg.floor) * progress / cfg.decay_epochs)


class TeacherForcing(LearnerCallback):
    """Set the model's `pr_force` before each training batch from a linear schedule (`cfg`).

    At 1.0 the decoder reads the whole target in one pass (fast); below it, it decodes step by
    step and each step feeds the truth with probability `pr_force` (one coin per step).
    Validation always uses full teacher forcing, so valid loss and token accuracy compare across
    epochs.
    """

    def __init__(self, learn, cfg: TeacherForcingConfig = None):
        super().__init__(learn)
        self.cfg = cfg or TeacherForcingConfig()

    def on_train_begin(self, n_epochs, **kwargs): self.n_batches = len(self.learn.data.train_dl)

    def on_batch_begin(self, epoch, num_batch, train, **kwargs):
        if not train: return
        progress = epoch + num_batch / max(self.n_batches, 1)
        # get_model: under DistributedDataParallel the attribute must be set on the wrapped model
        get_model(self.learn.model).pr_force = linear_pr_force(progress, self.cfg)

    def on_train_end(self, **kwargs): get_model(self.learn.model).pr_force = 1.0


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
    st = getattr(learn, "resume_state", None)  # left by `resume`
    smooth, history = SmoothLoss(learn, resume_state=st), JsonlLogger(learn, path, monitor, plots, resume_state=st)
    cbs = [smooth, history]
    if save_best: cbs.append(SaveBest(learn, path, history, monitor))
    if patience is not None: cbs.append(EarlyStop(learn, history, monitor, patience))
    return cbs + [LastCheckpoint(learn, path, history, smooth, resume_state=st)]
