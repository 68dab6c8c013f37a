"""Small helpers shared by scripts and modules."""
import random

import numpy as np
import torch

__all__ = ["seed_everything"]


def seed_everything(seed: int) -> None:
    "Seed Python, numpy and torch (fastai's samplers draw from numpy)."
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
