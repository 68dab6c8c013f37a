"""Checkpoint files: `torch.save` written atomically, of values `torch.load(weights_only=True)`
reads back (so reading a checkpoint never runs code)."""
from pathlib import Path

import numpy as np
import torch

from ..utils import atomic_write

__all__ = ["atomic_save", "plain"]


def atomic_save(obj, path) -> Path:
    "`torch.save(obj)` to `path` such that a crash at any moment leaves either the old or the new file."
    return atomic_write(Path(path), lambda tmp: torch.save(obj, tmp))


def plain(o):
    "`o` with numpy values made Python/tensor ones, so that `torch.load(weights_only=True)` reads it back."
    if isinstance(o, torch.Tensor): return o.detach()
    if isinstance(o, np.ndarray): return torch.from_numpy(np.ascontiguousarray(o))
    if isinstance(o, np.generic): return o.item()
    if isinstance(o, dict): return {k: plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)): return type(o)(plain(v) for v in o)
    if o is None or isinstance(o, (bool, int, float, str)): return o
    raise TypeError(f"cannot store a {type(o).__name__} in a checkpoint")
