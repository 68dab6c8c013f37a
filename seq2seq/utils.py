"""Small helpers shared by scripts and modules: seeding and atomic file writes (no torch at import).

`atomic_write` is the one way this project writes a file in place."""
import contextlib
import os
import random
import tempfile
from pathlib import Path
from typing import Callable, Iterator

__all__ = ["seed_everything", "temp_beside", "atomic_write", "save_png"]


def seed_everything(seed: int) -> None:
    "Seed Python, numpy and torch (fastai's samplers draw from numpy)."
    import numpy as np
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _umask() -> int:
    "The process umask (reading it means setting it, so set it straight back)."
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def temp_beside(path) -> Iterator[Path]:
    """Yield a temporary path in `path`'s folder; on success flush it to disk and rename it onto
    `path`, on any error remove it. A crash at any moment leaves the old file or the new one,
    never half of one. The file gets the usual permissions (0666 less the umask)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f: os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp): os.remove(tmp)


def atomic_write(path, write: Callable[[Path], None]) -> Path:
    "Call `write(tmp_path)`, then put the file in place at `path` atomically (see `temp_beside`)."
    with temp_beside(path) as tmp: write(tmp)
    return Path(path)


def save_png(fig, path, **savefig_kwargs) -> Path:
    "Write a matplotlib figure to `path` as PNG, atomically (`savefig_kwargs`: dpi, bbox_inches, ...)."
    return atomic_write(path, lambda p: fig.savefig(p, format="png", **savefig_kwargs))
