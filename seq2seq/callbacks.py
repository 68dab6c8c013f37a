"""Changes to fastai's training loop: the teacher-forcing schedule (options: `TeacherForcingConfig`)."""
from . import compat  # noqa: F401  (before fastai)
from fastai.basic_train import LearnerCallback
from fastai.torch_core import get_model

from .train_config import TeacherForcingConfig

__all__ = ["TeacherForcingConfig", "TeacherForcing", "linear_pr_force"]


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
