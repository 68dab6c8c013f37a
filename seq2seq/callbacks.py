"""Changes to fastai's training loop: the teacher-forcing schedule."""
from . import compat  # noqa: F401  (before fastai)
from fastai.basic_train import LearnerCallback
from fastai.torch_core import get_model

__all__ = ["TeacherForcing", "linear_pr_force"]


def linear_pr_force(progress: float, start: float = 1.0, floor: float = 0.5, decay_epochs: float = 5) -> float:
    "Probability of feeding the truth after `progress` epochs: linear from `start` to `floor` over `decay_epochs`."
    if decay_epochs <= 0: return floor
    return max(floor, start - (start - floor) * progress / decay_epochs)


class TeacherForcing(LearnerCallback):
    """Set the model's `pr_force` before each training batch from a linear schedule.

    At 1.0 the decoder reads the whole target in one pass (fast); below it, it decodes step by
    step and each step feeds the truth with probability `pr_force` (one coin per step).
    Validation always uses full teacher forcing, so valid loss and token accuracy compare across
    epochs.
    """

    def __init__(self, learn, start: float = 1.0, floor: float = 1.0, decay_epochs: float = 5):
        super().__init__(learn)
        self.start, self.floor, self.decay_epochs = start, floor, decay_epochs
        for v in (start, floor):
            if not 0 <= v <= 1: raise ValueError(f"teacher-forcing probabilities must be in [0, 1], got {v}")

    def on_train_begin(self, n_epochs, **kwargs): self.n_batches = len(self.learn.data.train_dl)

    def on_batch_begin(self, epoch, num_batch, train, **kwargs):
        if not train: return
        progress = epoch + num_batch / max(self.n_batches, 1)
        # get_model: under DistributedDataParallel the attribute must be set on the wrapped model
        get_model(self.learn.model).pr_force = linear_pr_force(progress, self.start, self.floor, self.decay_epochs)

    def on_train_end(self, **kwargs): get_model(self.learn.model).pr_force = 1.0
