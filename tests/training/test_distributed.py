"""seq2seq/training/distributed.py: the distributed sortish sampler, process launching and error propagation,
joining a torchrun-style group, and a real 2-process gloo training run through scripts/train.py."""
import importlib.util
import operator
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.distributed as dist

from seq2seq.training import distributed
from seq2seq.training.distributed import DistributedSortishSampler, launch, resolve_backend, run_distributed

ROOT = Path(__file__).resolve().parents[2]


def _samplers(n=203, bs=8, world=3, seed=0, epoch=0):
    "One sampler per rank over the same random lengths."
    lens = np.random.RandomState(1).randint(1, 60, n)
    res = [DistributedSortishSampler(lens, bs, r, world, seed) for r in range(world)]
    for s in res: s.set_epoch(epoch)
    return lens, res


# ------------------------------------------------------------------ sampler
def test_sampler_same_order_on_every_rank():
    _, ss = _samplers()
    first = ss[0].all_batches()
    for s in ss[1:]: np.testing.assert_array_equal(s.all_batches(), first)


def test_sampler_disjoint_equal_and_covering():
    n, bs, world = 203, 8, 3
    _, ss = _samplers(n, bs, world)
    per_rank = [list(s) for s in ss]
    assert len({len(p) for p in per_rank}) == 1                      # same number of samples ...
    assert all(len(p) == len(s) and len(p) % bs == 0 for p, s in zip(per_rank, ss))  # ... in full batches
    assert len({s.n_batches() for s in ss}) == 1
    flat = [i for p in per_rank for i in p]
    assert len(flat) == len(set(flat))                                # no sample on two ranks
    assert len(flat) >= (n // (bs * world)) * bs * world
    assert set(flat) <= set(range(n))


def test_sampler_rank_takes_every_world_th_batch():
    _, ss = _samplers()
    allb = ss[0].all_batches()
    for r, s in enumerate(ss):
        np.testing.assert_array_equal(s.batches(), allb[r:s.n_batches() * 3:3])


def test_sampler_set_epoch_changes_order():
    _, ss = _samplers()
    a = list(ss[0])
    ss[0].set_epoch(1)
    b = list(ss[0])
    assert a != b
    ss[0].set_epoch(0)
    assert list(ss[0]) == a                                           # an epoch's order is reproducible


def test_sampler_groups_lengths():
    lens, ss = _samplers(n=800, bs=8, world=2)
    spread = np.mean([np.ptp(lens[b]) for b in ss[0].batches()])
    rand = np.mean([np.ptp(lens[b]) for b in np.random.RandomState(0).permutation(800).reshape(-1, 8)])
    assert spread < rand / 3
    longest = ss[0].all_batches()[0]
    assert lens[longest].max() == lens.max()                          # the longest batch comes first


def test_sampler_too_little_data_and_bad_rank():
    s = DistributedSortishSampler([3] * 10, bs=8, rank=1, world=2)
    assert s.n_batches() == 0 and list(s) == []
    with pytest.raises(ValueError, match="rank 2"):
        DistributedSortishSampler([3] * 10, bs=2, rank=2, world=2)


# ------------------------------------------------------------------ backends, launching, torchrun
def test_resolve_backend_on_this_machine():
    assert resolve_backend("gloo", 4) == "gloo"
    n_gpu = torch.cuda.device_count()
    assert resolve_backend("auto", n_gpu + 1) == "gloo"              # more processes than GPUs
    with pytest.raises(ValueError, match="one GPU per process"):
        resolve_backend("nccl", n_gpu + 1)
    with pytest.raises(ValueError, match="auto, gloo or nccl"):
        resolve_backend("mpi", 1)


@pytest.mark.slow
def test_launch_error_reaches_parent():
    "A child's exception is raised in the parent, same type, with the child's traceback as a note."
    with pytest.raises(ZeroDivisionError) as e:
        launch(operator.truediv, 2, "gloo", 1, 0)
    notes = "\n".join(getattr(e.value, "__notes__", []))
    assert "raised in training process" in notes and "ZeroDivisionError" in notes


def test_run_distributed_joins_torchrun_group(monkeypatch):
    "With RANK/WORLD_SIZE set (as torchrun does) it joins that group instead of spawning."
    port = distributed._free_port()
    for k, v in dict(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)).items():
        monkeypatch.setenv(k, v)
    seen = run_distributed(lambda x: (x, distributed.is_distributed(), distributed.world_size(),
                                      dist.get_backend()), 7, backend="gloo")
    assert seen == (7, True, 1, "gloo")
    assert not distributed.is_distributed()                           # left the group afterwards
    with pytest.raises(ValueError, match="torchrun"):
        run_distributed(print, nproc=2)


# ------------------------------------------------------------------ a real 2-process run
def _train_script():
    "scripts/train.py loaded as a module (scripts/ is not a package)."
    spec = importlib.util.spec_from_file_location("train_script", ROOT / "scripts" / "train.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_two_process_gloo_training(tmp_path, monkeypatch, capsys):
    csv, out = tmp_path / "tiny.csv", tmp_path / "out"
    pd.read_csv(ROOT / "data" / "sample.csv").iloc[:80].to_csv(csv, index=False)
    results = []

    def spy(*args, **kwargs):  # the real launch, keeping every rank's result (run_distributed keeps rank 0's)
        results.extend(real(*args, **kwargs))
        return results

    real = distributed.launch
    monkeypatch.setattr(distributed, "launch", spy)
    _train_script().main(["--nproc", "2", "--backend", "gloo", "--csv", str(csv), "--out", str(out),
                          "--emb-size", "8", "--hidden", "8", "--layers", "1", "--epochs", "2",
                          "--lr", "1e-2", "--bs", "8", "--seed", "0"])
    printed = capsys.readouterr().out
    assert printed.count("validation:") == 1 and "valid_loss" in printed  # printed once, by the parent
    # both ranks validated the whole validation set with their own weights: equal metrics mean
    # DDP kept the weights identical although each rank trained on different batches
    timing = {"seconds"}  # each rank's own wall time
    same = [{k: v for k, v in r.items() if k not in timing} for r in results]
    assert len(results) == 2 and same[0] == same[1]
    assert results[0]["epochs"] == 2 and results[0]["train_size"] - results[0]["augmented_size"] == 72
    names = sorted(p.name for p in out.iterdir())
    assert names == ["MODEL_CARD.md", "best.pth", "cache", "export.pkl", "history.csv", "last.pth", "losses.png",
                     "metrics.json", "metrics.jsonl", "metrics.png", "model.safetensors", "valid.csv"]
    assert len(pd.read_csv(out / "history.csv")) == 2                 # one logger, not one per rank
    assert len(list((out / "cache").iterdir())) == 1                  # one embedding cache, shared

    from seq2seq.training.learner import load_seq2seq
    from seq2seq.text.tags import strip_tags
    learn = load_seq2seq(out)
    assert not any(isinstance(c, distributed.DistributedTrainer) for c in learn.callbacks)
    text = "Seen by Dr. Smith on 3/4/2091."
    pred = learn.predict(text)
    assert isinstance(pred, str) and strip_tags(pred) == text
    assert "RANK" not in os.environ and not distributed.is_distributed()  # the parent never joined a group
