"""Where training runs: picking a device, CPU threads, moving a Learner and its data, fp16.

`pick_device` turns the `--device` flag into a `torch.device` and refuses a CUDA device that
is not there (with the fix in the message) instead of failing later inside fastai.
`use_device` points fastai's `defaults.device`, the DataBunch and each of its loaders at one
device and moves the model, so batches and weights always meet on the same device.
"""
import os
from typing import Optional

import torch

from .. import compat  # noqa: F401  (before fastai)
from ..errors import UserError
from fastai.basic_train import Learner
from fastai.torch_core import defaults

__all__ = ["pick_device", "set_threads", "tensors_on", "use_device", "maybe_fp16", "MAX_DEFAULT_THREADS"]

# Past ~8 intra-op threads a small GRU gains little, and on a shared machine more threads only
# oversubscribe the cores other jobs use; pass `n` to go beyond.
MAX_DEFAULT_THREADS = 8


def pick_device(name: str = "auto") -> torch.device:
    """The device named by `--device`: "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N".

    Raises `UserError` for an unknown name or a CUDA device that does not exist.
    """
    name = (name or "auto").strip().lower()
    if name == "auto": return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise UserError(f"device {name!r}: unknown device; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cpu": return dev
    if dev.type != "cuda": raise UserError(f"device {name!r}: unsupported; use auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise UserError(f"device {name!r}: no CUDA device is available (torch.cuda.is_available() is False); "
                         "use device cpu or auto")
    n = torch.cuda.device_count()
    if dev.index is not None and dev.index >= n:
        raise UserError(f"device {name!r}: only {n} CUDA device(s) (cuda:0..cuda:{n - 1})")
    return dev


def usable_cores() -> int:
    "Cores this process may run on (its CPU affinity, which containers and `taskset` narrow), at least 1."
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return max(os.cpu_count() or 1, 1)


def set_threads(n: Optional[int] = None) -> int:
    """Set torch's intra-op CPU threads and return the number set.

    Args:
        n: threads to use; None means the usable cores (`usable_cores`), at most `MAX_DEFAULT_THREADS`.
    """
    if n is None: n = min(usable_cores(), MAX_DEFAULT_THREADS)
    if n < 1: raise UserError(f"threads must be >= 1, got {n}")
    torch.set_num_threads(n)
    return n


def _tensors(obj):
    "Every tensor in a module (parameters and buffers), a tensor, or nested lists/tuples/dicts of them."
    if isinstance(obj, torch.Tensor): yield obj
    elif isinstance(obj, torch.nn.Module): yield from (*obj.parameters(), *obj.buffers())
    elif isinstance(obj, dict):
        for v in obj.values(): yield from _tensors(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj: yield from _tensors(v)


def tensors_on(model_or_tensors, device) -> bool:
    "True when every tensor in `model_or_tensors` (module, tensor, or nested containers) is on `device`."
    dev = torch.device(device)
    return all(_same_device(t.device, dev) for t in _tensors(model_or_tensors))


def _same_device(a: torch.device, b: torch.device) -> bool:
    "Device equality where a bare 'cuda' means the current CUDA device."
    if a.type != b.type: return False
    if a.type != "cuda" or a.index == b.index: return True
    cur = torch.cuda.current_device()
    return (a.index if a.index is not None else cur) == (b.index if b.index is not None else cur)


def use_device(learn_or_data, device):
    """Run `learn_or_data` (a Learner or a DataBunch) on `device`; returns it.

    Sets fastai's `defaults.device` (used by loaders created later and by `load_learner`), the
    DataBunch's device and that of each of its loaders, and moves a Learner's model.
    Call it on the data before building the Learner, or on the Learner afterwards.
    """
    dev = torch.device(device)
    defaults.device = dev
    data = learn_or_data.data if isinstance(learn_or_data, Learner) else learn_or_data
    data.device = dev
    for name in ("train_dl", "valid_dl", "fix_dl", "single_dl", "test_dl"):
        dl = getattr(data, name, None)
        if dl is not None: dl.device = dev
    if isinstance(learn_or_data, Learner): learn_or_data.model.to(dev)
    return learn_or_data


def maybe_fp16(learn: Learner, fp16: bool, device) -> Learner:
    """Mixed-precision training (fastai's `to_fp16`) when `fp16`; only on CUDA (raises ValueError on CPU).

    Loss and metrics stay in fp32: `seq2seq_loss` casts the logits to float.
    """
    if not fp16: return learn
    dev = torch.device(device)
    if dev.type != "cuda":
        raise UserError(f"fp16 needs a CUDA device, but this run uses {dev}; drop fp16 or use device cuda")
    return learn.to_fp16()
