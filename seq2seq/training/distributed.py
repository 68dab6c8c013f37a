"""Multi-process training with torch.distributed: one process per GPU (nccl) or several on CPU (gloo).

Each process holds the whole model and data. `DistributedTrainer` wraps the model in
`DistributedDataParallel` for one fit (gradients are averaged across processes, so the weights
stay identical) and gives each process its share of the sortish training batches. Every process
validates on the whole validation set: the weights are the same, so every process records the
same metrics, and callbacks that act on them (early stopping, best model) agree without talking.

Two ways to start the processes, both running the same script:

- `launch(fn, nproc, backend, *args)` spawns `nproc` processes on this machine (`--nproc N`);
- `torchrun` (`python -m torch.distributed.run`) starts them, on one or several machines, and
  sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; `run_distributed` then just
  joins the group as that rank.

Only rank 0 writes files and prints; `main_first` lets rank 0 fill caches before the others read
them, `single_process` + `broadcast_from_main` let rank 0 alone search the learning rate.
"""
import contextlib
import multiprocessing
import os
import pickle
import socket
import traceback
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Sampler

from .. import compat  # noqa: F401  (before fastai)
from fastai.basic_train import LearnerCallback
from fastai.torch_core import defaults, get_model

from ..errors import UserError
from ..utils import seed_everything
from .config import BACKENDS
from .device import usable_cores, use_device

__all__ = ["DistributedSortishSampler", "DistributedTrainer", "distributed_training", "launch",
           "run_distributed", "init_process", "resolve_backend", "is_distributed", "is_main_process",
           "rank", "world_size", "barrier", "main_first", "single_process", "broadcast_from_main", "main_only",
           "process_device", "TIMEOUT", "BACKENDS"]

# Rank 0 alone trains fastText and runs lr_find while the others wait at a barrier; nccl's default
# 10 minutes can be too short for that on a large corpus.
TIMEOUT = timedelta(hours=1)


# ------------------------------------------------------------------ who am I
def is_distributed() -> bool:
    "True inside a process group (`init_process`, `launch` or torchrun + `run_distributed`)."
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    "This process's rank: from the process group, else from RANK (torchrun), else 0."
    return dist.get_rank() if is_distributed() else int(os.environ.get("RANK", 0))


def world_size() -> int:
    "Number of processes in the group (1 outside one)."
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    "True for rank 0, the one process that prints and writes files."
    return rank() == 0


def process_device() -> torch.device:
    "The device this process trains on: its own GPU (cuda:LOCAL_RANK) under nccl, the CPU under gloo."
    if is_distributed() and dist.get_backend() == "nccl":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def barrier() -> None:
    "Wait until every process of the group gets here (nothing outside a group)."
    if not is_distributed(): return
    dev = process_device()
    if dev.type == "cuda": dist.barrier(device_ids=[dev.index])
    else: dist.barrier()


@contextlib.contextmanager
def main_first():
    """Rank 0 runs the body first while the others wait; then the others run it.

    For work that fills a cache: rank 0 computes (e.g. trains fastText and caches the
    embeddings), the others then read the cache instead of computing it again.
    """
    main = is_main_process()
    if not main: barrier()
    yield
    if main: barrier()


@contextlib.contextmanager
def single_process():
    """Make fastai see a single process in the body, for work that rank 0 does alone (lr_find):
    with WORLD_SIZE > 1, fastai's lr_find changes its stop rule and `Learner.load` waits at a barrier.
    """
    ws = os.environ.pop("WORLD_SIZE", None)
    try:
        yield
    finally:
        if ws is not None: os.environ["WORLD_SIZE"] = ws


def broadcast_from_main(obj):
    "Rank 0's `obj` (picklable) in every process; `obj` itself outside a process group."
    if not is_distributed(): return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def main_only(log):
    "`log` in rank 0, a function that prints nothing in the others (one log per job)."
    return log if is_main_process() else _silent


def _silent(*args, **kwargs):
    "Print nothing."


# ------------------------------------------------------------------ sampler
class DistributedSortishSampler(Sampler):
    """This process's share of sortish batches: similar lengths within a batch, random otherwise.

    Every process builds the same batches for an epoch (shuffled with `seed` and the epoch set by
    `set_epoch`): shuffle, sort chunks of 50 batches by length (longest first), cut into batches of
    `bs`, shuffle the batches with the longest one first (an out-of-memory error shows at once).
    Rank `r` takes batches r, r+world, r+2*world, ...; the list is cut to a multiple of `world`
    full batches so that every process runs the same number of steps (DDP waits for all of them).
    Yields sample indices, `bs` per batch, for a DataLoader with `batch_size=bs`.

    Args:
        lengths: a length per sample (source + target tokens).
        bs: batch size of each process.
        rank, world: this process's rank and the number of processes.
    """

    def __init__(self, lengths, bs: int, rank: int = 0, world: int = 1, seed: int = 42):
        if not 0 <= rank < world: raise ValueError(f"rank {rank} is not in 0..{world - 1}")
        self.lens, self.bs, self.rank, self.world, self.seed = np.asarray(lengths), bs, rank, world, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None: self.epoch = epoch
    def n_batches(self) -> int: return len(self.lens) // self.bs // self.world
    def __len__(self) -> int: return self.n_batches() * self.bs
    def __iter__(self): return iter(self.batches().ravel().tolist())

    def all_batches(self) -> np.ndarray:
        "Every process's batches of this epoch, in order: (n_full_batches, bs) sample indices."
        rng = np.random.default_rng((self.seed, self.epoch))
        idx, mb = rng.permutation(len(self.lens)), self.bs * 50
        chunks = np.split(idx, range(mb, len(idx), mb))
        idx = np.concatenate([c[np.argsort(-self.lens[c], kind="stable")] for c in chunks])  # longest first
        nb = len(idx) // self.bs
        batches = idx[:nb * self.bs].reshape(nb, self.bs)
        order = rng.permutation(nb)
        longest = int(np.argmax(self.lens[batches[:, 0]]))
        return batches[np.concatenate([[longest], order[order != longest]]).astype(int)]

    def batches(self) -> np.ndarray:
        "This process's batches of this epoch: (n_batches, bs) sample indices."
        return self.all_batches()[self.rank:self.n_batches() * self.world:self.world]


# ------------------------------------------------------------------ the training callback
def _row_lengths(ds) -> list:
    "Source + target tokens per item of a seq2seq LabelList (the key data.py sorts by)."
    return [len(x) + len(y) for x, y in zip(ds.x.items, ds.y.items)]


class DistributedTrainer(LearnerCallback):
    """For one fit: wrap `learn.model` in DistributedDataParallel and train on this process's share
    of the batches (`DistributedSortishSampler`); unwrap and restore the loader at the end.

    The process group must be up (`init_process`). DDP copies rank 0's weights to every process
    when it wraps, so all processes start from the same weights.
    """
    _order = -20  # before the Recorder, the schedulers and TeacherForcing read the loader's length

    def __init__(self, learn, seed: int = 42):
        super().__init__(learn)
        self.seed, self.old_dl, self.sampler = seed, None, None

    def on_train_begin(self, **kwargs):
        r, world, dl = rank(), world_size(), self.learn.data.train_dl
        self.sampler = DistributedSortishSampler(_row_lengths(dl.dataset), dl.batch_size, r, world, self.seed)
        if self.sampler.n_batches() == 0:
            raise UserError(f"{len(dl.dataset)} training rows make no full batch of {dl.batch_size} for each of "
                             f"{world} processes; lower --bs or --nproc")
        dev = next(self.learn.model.parameters()).device
        ids = [dev.index] if dev.type == "cuda" else None  # CPU modules take no device_ids
        self.learn.model = DistributedDataParallel(self.learn.model, device_ids=ids)
        self.old_dl, self.learn.data.train_dl = dl, dl.new(sampler=self.sampler, shuffle=False, drop_last=False)
        if r:
            self.learn.recorder.silent = True  # rank 0 prints the epoch table
            # rank 0 keeps the RNG of a single-process run; the others draw their own dropout masks
            torch.manual_seed(self.seed + r)

    def on_epoch_begin(self, epoch, **kwargs): self.sampler.set_epoch(epoch)

    def on_train_end(self, **kwargs):
        self.learn.model = get_model(self.learn.model)
        if self.old_dl is not None: self.learn.data.train_dl, self.old_dl = self.old_dl, None


@contextlib.contextmanager
def distributed_training(learn, seed: int = 42):
    """Inside a process group, make the fits in the body distributed (`DistributedTrainer`) on this
    process's device; outside one, do nothing. The callback is removed afterwards, so it is never
    exported with the Learner.
    """
    if not is_distributed():
        yield learn
        return
    use_device(learn, process_device())
    cb = DistributedTrainer(learn, seed=seed)
    learn.callbacks.append(cb)
    try:
        yield learn
    finally:
        learn.callbacks.remove(cb)


# ------------------------------------------------------------------ starting processes
def resolve_backend(backend: str = "auto", nproc_local: int = 1) -> str:
    """"nccl" or "gloo" for `nproc_local` processes on this machine.

    "auto" is nccl when CUDA is available and there is a GPU for each process, else gloo (CPU).
    Raises ValueError for an unknown name or nccl without enough GPUs.
    """
    backend = (backend or "auto").lower()
    n_gpu = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if backend == "auto": return "nccl" if 0 < nproc_local <= n_gpu and dist.is_nccl_available() else "gloo"
    if backend == "gloo": return backend
    if backend != "nccl": raise UserError(f"backend {backend!r}: use auto, gloo or nccl")
    if nproc_local > n_gpu:
        raise UserError(f"backend nccl needs one GPU per process: {nproc_local} processes, {n_gpu} GPU(s); "
                         "use fewer processes or backend gloo")
    return backend


def init_process(backend: str = "auto") -> str:
    """Join the process group that the environment describes (RANK, WORLD_SIZE, LOCAL_RANK,
    MASTER_ADDR, MASTER_PORT, as torchrun sets them); returns the backend used.

    Under nccl this process uses GPU LOCAL_RANK; under gloo the CPU, with its share of the cores.
    """
    world = int(os.environ["WORLD_SIZE"])
    local, n_local = int(os.environ.get("LOCAL_RANK", 0)), int(os.environ.get("LOCAL_WORLD_SIZE", world))
    backend = resolve_backend(backend, n_local)
    if backend == "nccl": torch.cuda.set_device(local)
    else: torch.set_num_threads(max(usable_cores() // n_local, 1))  # N processes would each take every core
    dist.init_process_group(backend, timeout=TIMEOUT)
    defaults.device = process_device()  # fastai puts data and models built from now on there
    if rank():
        import fastprogress.fastprogress as fp
        fp.NO_BAR = True  # one progress bar per job, rank 0's
    return backend


def _free_port() -> int:
    "A TCP port on 127.0.0.1 that nobody listens on now."
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _picklable(e: BaseException) -> BaseException:
    "`e` if it survives pickling (to reach the parent), else a RuntimeError with its text."
    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:  # any exception's __reduce__ may fail in its own way
        return RuntimeError(f"{type(e).__name__}: {e}")


def _worker(local_rank, fn, args, nproc, port, backend, seed, start_method, queue):
    "One spawned process: set torchrun's variables, join the group, run `fn(*args)`, report to the parent."
    # A spawned process defaults to spawn, so each DataLoader worker would re-import fastai every
    # epoch; start them as the parent would (fork on Linux), like a process that torchrun starts.
    multiprocessing.set_start_method(start_method, force=True)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(local_rank),
                      WORLD_SIZE=str(nproc), LOCAL_RANK=str(local_rank), LOCAL_WORLD_SIZE=str(nproc))
    try:
        init_process(backend)
        if seed is not None: seed_everything(seed)
        queue.put(("result", local_rank, fn(*args)))
    except Exception as e:
        queue.put(("error", local_rank, _picklable(e), traceback.format_exc()))
        raise
    finally:
        if is_distributed(): dist.destroy_process_group()


def _drain(queue, msgs: list) -> None:
    "Move what the processes sent so far into `msgs` (read while they run: a full pipe would block them)."
    while not queue.empty(): msgs.append(queue.get())


def _child_error(msgs: list, err: Exception, nproc: int) -> BaseException:
    "The first exception a process raised (the cause: the others' follow from it), its traceback as a note."
    for kind, r, *rest in msgs:
        if kind == "error":
            exc, tb = rest
            exc.add_note(f"raised in training process {r} of {nproc}:\n{tb.rstrip()}")
            return exc
    return RuntimeError(f"a training process failed: {err}")


def launch(fn, nproc: int, backend: str = "auto", *args, seed=None) -> list:
    """Run `fn(*args)` in `nproc` new processes on this machine that form one process group.

    Each process gets MASTER_ADDR=127.0.0.1, a free MASTER_PORT, RANK=LOCAL_RANK=its index and
    WORLD_SIZE=nproc, joins the group (`init_process(backend)`), seeds Python/numpy/torch with `seed`
    when given (a spawned process does not inherit the parent's RNG state), runs `fn` and leaves
    the group. `fn` and `args` must be picklable (`fn` importable: a function of a module).
    Returns every process's result, by rank. If a process raises, the others are stopped and
    that exception is raised here, its traceback attached as a note.
    """
    if nproc < 1: raise UserError(f"nproc must be >= 1, got {nproc}")
    backend = resolve_backend(backend, nproc)
    queue, msgs = mp.get_context("spawn").SimpleQueue(), []
    args = (fn, args, nproc, _free_port(), backend, seed, multiprocessing.get_start_method(), queue)
    ctx = mp.start_processes(_worker, args=args,
                             nprocs=nproc, join=False, start_method="spawn")
    try:
        while not ctx.join(timeout=0.5): _drain(queue, msgs)
    except (mp.ProcessRaisedException, mp.ProcessExitedException) as e:
        _drain(queue, msgs)
        raise _child_error(msgs, e, nproc) from None
    except BaseException:  # e.g. Ctrl-C: do not leave the processes running
        for p in ctx.processes:
            if p.is_alive(): p.terminate()
        raise
    _drain(queue, msgs)
    res = {m[1]: m[2] for m in msgs if m[0] == "result"}
    return [res.get(r) for r in range(nproc)]


def _launched_by_torchrun() -> bool:
    "True when the environment already describes this process's place in a group."
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def run_distributed(fn, *args, nproc: int = 1, backend: str = "auto", seed=None):
    """`fn(*args)` as one process, as this rank of a torchrun job, or in `nproc` spawned processes.

    - Launched by torchrun (RANK and WORLD_SIZE set): join the group, run `fn`, leave; returns this
      process's result. `nproc` must then be 1 (torchrun's --nproc_per_node says how many).
    - Else with `nproc` > 1: `launch` them; returns rank 0's result.
    - Else: just `fn(*args)`.
    """
    if _launched_by_torchrun():
        if nproc != 1: raise UserError("nproc spawns processes itself; under torchrun leave it at 1 "
                                        "(torchrun's --nproc_per_node sets the count)")
        init_process(backend)
        try:
            return fn(*args)
        finally:
            dist.destroy_process_group()
    if nproc == 1: return fn(*args)
    return launch(fn, nproc, backend, *args, seed=seed)[0]
