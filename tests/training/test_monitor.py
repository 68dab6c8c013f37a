"""metrics.jsonl, best model, early stopping and resumable checkpoints (seq2seq/training/history.py, best.py, checkpoint.py).

One module-scoped set of runs on 64 sample pairs (3 batches per epoch, a 16-unit model):
A trains 4 epochs straight; B is the same run crashing at the start of epoch 2; C is a fresh
Learner that resumes B. Resuming must reproduce A exactly.
"""
import json
import math
import shutil

import numpy as np
import pytest
import torch

from seq2seq import compat  # noqa: F401  (before fastai)
from fastai.callback import Callback
from fastai.torch_core import add_metrics

from seq2seq.data.pairs import read_pairs, seq2seq_data
from seq2seq.errors import CheckpointError, UserError
from seq2seq.models.config import ModelConfig
from seq2seq.models.losses import TokenAccuracy
from seq2seq.training.best import BEST
from seq2seq.training.callbacks import TeacherForcingConfig, monitor_callbacks
from seq2seq.training.checkpoint import LAST, read_checkpoint, resume
from seq2seq.training.history import JSONL, best_epoch, check_monitor, monitor_mode, resolve_monitor, valid_monitors
from seq2seq.training.learner import seq2seq_learner
from seq2seq.training.saving import atomic_save
from seq2seq.utils import seed_everything

EPOCHS, LR = 4, 1e-2
METRICS = ["token_acc", "bleu", "chrf", "span_f1"]
FIELDS = ["epoch", "train_loss", "valid_loss", *METRICS, "lr", "seconds", "peak_rss_mb", "gpu_mem_mb", "best_epoch"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("monitor")


@pytest.fixture(scope="module")
def data(work):
    return seq2seq_data(read_pairs("data/sample.csv", verbose=False).iloc[:64], path=work, bs=16)


def make_learner(data, work, hidden=16):
    "A tiny Learner, built the same way (same seed) every time; teacher forcing decays so steps draw coins."
    seed_everything(0)
    return seq2seq_learner(data, ModelConfig(emb_size=16, hidden=hidden, layers=1), cache_dir=work / "cache",
                           verbose=False, decode_limit=16, teacher_forcing=TeacherForcingConfig(1.0, 0.5, 2), silent=True)


class Crash(Exception):
    "Stands in for a crash or a kill between two epochs."


class CrashAt(Callback):
    "Raise `Crash` when epoch `epoch` begins."

    def __init__(self, epoch): self.epoch = epoch

    def on_epoch_begin(self, epoch, **kwargs):
        if epoch == self.epoch: raise Crash()


class RawLosses(Callback):
    "Record each training batch's loss as the optimizer sees it (no smoothing)."

    def __init__(self): self.losses = []
    def on_backward_begin(self, last_loss, **kwargs): self.losses.append(float(last_loss.detach()))


@pytest.fixture(scope="module")
def runs(data, work):
    "A: 4 epochs straight. B: the same run, crashing as epoch 2 begins. C: a fresh Learner resuming B."
    a, raw = make_learner(data, work), RawLosses()
    a.fit_one_cycle(EPOCHS, LR, callbacks=monitor_callbacks(a, work / "a", plots=False) + [raw])
    b = make_learner(data, work)
    with pytest.raises(Crash):
        b.fit_one_cycle(EPOCHS, LR, callbacks=monitor_callbacks(b, work / "b", plots=False) + [CrashAt(2)])
    b_lines = read_jsonl(work / "b")
    shutil.copy(work / "b" / LAST, work / "b_last.pth")
    c = make_learner(data, work)
    ck = read_checkpoint(work / "b")
    start = resume(c, work / "b", ck)
    # plots only here (matplotlib takes ~0.3 s a figure): redrawn on resume, then every epoch
    c.fit_one_cycle(ck["schedule"]["epochs"], ck["schedule"]["lr"], callbacks=monitor_callbacks(c, work / "b"),
                    start_epoch=start)
    return dict(a=a, c=c, start=start, schedule=ck["schedule"], b_lines=b_lines, raw=raw)


def read_jsonl(folder):
    return [json.loads(line) for line in (folder / JSONL).read_text().splitlines()]


# ---------------------------------------------------------------- metrics.jsonl and plots

def test_jsonl_has_every_field_with_sane_values(runs, work):
    rows, rec = read_jsonl(work / "a"), runs["a"].recorder
    assert [r["epoch"] for r in rows] == list(range(EPOCHS))
    for r, vl, ms in zip(rows, rec.val_losses, rec.metrics):
        assert list(r) == FIELDS
        assert math.isfinite(r["train_loss"]) and r["train_loss"] > 0
        assert r["valid_loss"] == pytest.approx(float(vl))
        assert [r[m] for m in METRICS] == pytest.approx(ms)
        assert r["seconds"] > 0 and r["peak_rss_mb"] > 0 and 0 < r["lr"] <= LR
        assert r["gpu_mem_mb"] is None  # a CPU run


def test_train_loss_is_the_mean_of_raw_batch_losses(runs, work):
    rows, raw = read_jsonl(work / "a"), runs["raw"].losses
    assert len(raw) == EPOCHS * 3
    for r in rows:
        assert r["train_loss"] == pytest.approx(np.mean(raw[3 * r["epoch"]:3 * r["epoch"] + 3]), rel=1e-9)


def test_best_epoch_follows_the_monitored_values(runs, work):
    rows = read_jsonl(work / "a")
    for i, r in enumerate(rows):
        vals = [x["valid_loss"] for x in rows[:i + 1]]
        assert r["best_epoch"] == int(np.argmin(vals))
    best = torch.load(work / "a" / BEST, weights_only=True)
    assert best["epoch"] == rows[-1]["best_epoch"] and best["monitor"] == "valid_loss"


def test_plots_are_written(runs, work):
    for name in ("losses.png", "metrics.png"):
        assert (work / "b" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert not (work / "a" / name).exists()  # plots=False
    for run in ("a", "b"):  # no temporary files left
        assert not [p for p in (work / run).iterdir() if p.name.startswith(".")]


def test_best_epoch_rules():
    rows = [{"epoch": 0, "v_loss": 3.0, "acc": None}, {"epoch": 1, "v_loss": 2.0, "acc": 0.5},
            {"epoch": 2, "v_loss": 2.0, "acc": 0.7}, {"epoch": 3, "v_loss": 2.5, "acc": 0.7}]
    assert best_epoch(rows, "v_loss") == 1      # losses: lowest, first on ties
    assert best_epoch(rows, "acc") == 2         # other metrics: highest; None never counts
    assert best_epoch(rows[:1], "acc") is None
    assert (monitor_mode("valid_loss"), monitor_mode("train_loss"), monitor_mode("bleu")) == ("min", "min", "max")


# ---------------------------------------------------------------- monitor names

def test_unknown_monitor_lists_the_valid_names(data, work):
    learn = make_learner(data, work)
    names = valid_monitors(learn)
    assert names == ["valid_loss", "train_loss", *METRICS]
    assert check_monitor(learn, "chrf") == "max"
    with pytest.raises(ValueError) as e:
        monitor_callbacks(learn, work / "x", monitor="accuracy")
    assert "accuracy" in str(e.value) and all(n in str(e.value) for n in names)


def test_auto_monitor_is_span_f1_when_validation_targets_hold_spans(data, work):
    learn = make_learner(data, work)
    assert resolve_monitor(learn, "auto", decodes=True) == "span_f1"
    assert resolve_monitor(learn, "auto", decodes=False) == "valid_loss"   # --decode-limit 0: no span F1
    assert resolve_monitor(learn, "chrf", decodes=True) == "chrf"          # a name given is kept
    plain = read_pairs("data/sample.csv", verbose=False).iloc[:64]
    plain = plain.assign(annotated_text=plain.orig_text)                   # no spans anywhere
    learn = make_learner(seq2seq_data(plain, path=work / "plain", bs=16), work / "plain")
    assert resolve_monitor(learn, "auto", decodes=True) == "valid_loss"


def test_training_defaults_to_the_auto_monitor():
    from seq2seq.training.config import TrainConfig
    assert TrainConfig().monitor == "auto"


# ---------------------------------------------------------------- resume

def test_resume_reproduces_the_uninterrupted_run(runs):
    a, c = runs["a"], runs["c"]
    assert runs["start"] == 2 and runs["schedule"]["epochs"] == EPOCHS and runs["schedule"]["lr"] == LR
    sa, sc = a.model.state_dict(), c.model.state_dict()
    assert sa.keys() == sc.keys()
    for k in sa: assert torch.allclose(sa[k], sc[k], atol=1e-6), k
    ra, rc = a.recorder, c.recorder
    assert len(rc.losses) == len(ra.losses) == EPOCHS * 3
    assert torch.allclose(torch.stack(list(ra.losses)), torch.stack(list(rc.losses)), atol=1e-6)
    assert np.allclose(ra.val_losses, rc.val_losses, atol=1e-6)
    assert np.allclose(ra.metrics, rc.metrics, atol=1e-6)
    assert np.allclose(ra.lrs, rc.lrs) and np.allclose(ra.moms, rc.moms) and ra.nb_batches == rc.nb_batches


def test_resumed_jsonl_continues_the_interrupted_one(runs, work):
    assert [r["epoch"] for r in runs["b_lines"]] == [0, 1]   # the crash kept the finished epochs' lines
    a, b = read_jsonl(work / "a"), read_jsonl(work / "b")
    assert [r["epoch"] for r in b] == list(range(EPOCHS))
    timing = {"seconds", "peak_rss_mb"}
    for ra, rb in zip(a, b):
        assert {k: v for k, v in ra.items() if k not in timing} == pytest.approx(
            {k: v for k, v in rb.items() if k not in timing})


def test_checkpoint_loads_with_weights_only(runs, work):
    st = torch.load(work / "a" / LAST, map_location="cpu", weights_only=True)
    assert st["epoch"] == EPOCHS - 1 and st["iteration"] == EPOCHS * 3
    assert st["config"]["hidden"] == 16 and st["meta"]["task"] == "restore"
    assert len(st["rows"]) == EPOCHS and len(st["recorder"]["losses"]) == EPOCHS * 3


def test_resuming_a_finished_run_leaves_nothing_to_train(runs, data, work):
    learn = make_learner(data, work)
    assert resume(learn, work / "a") == EPOCHS


def test_resume_needs_the_same_schedule_and_start_epoch(runs, data, work):
    learn = make_learner(data, work)
    resume(learn, work / "b_last.pth")
    with pytest.raises(ValueError, match="start_epoch=2"):
        learn.fit_one_cycle(EPOCHS, LR, callbacks=monitor_callbacks(learn, work / "d"))
    with pytest.raises(ValueError, match="epochs=4, lr=0.01; resume it with the same schedule"):
        learn.fit_one_cycle(EPOCHS + 1, LR, callbacks=monitor_callbacks(learn, work / "d"), start_epoch=2)


def test_config_mismatch_names_the_fields(runs, data, work):
    learn = make_learner(data, work, hidden=8)
    with pytest.raises(ValueError, match="hidden 16 in the checkpoint, 8 now"):
        resume(learn, work / "a")


def test_batches_per_epoch_mismatch(runs, work):
    other = seq2seq_data(read_pairs("data/sample.csv", verbose=False).iloc[:64], path=work, bs=8)
    learn = make_learner(other, work)
    with pytest.raises(ValueError, match="3 batches per epoch in the checkpoint, 7 now"):
        resume(learn, work / "a")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "foreign"])
def test_damaged_checkpoint_gives_a_clear_error(runs, data, work, tmp_path, damage):
    raw = (work / "a" / LAST).read_bytes()
    f = tmp_path / LAST
    if damage == "truncate": f.write_bytes(raw[:len(raw) // 2])
    elif damage == "garbage": f.write_bytes(b"not a checkpoint at all" * 10)
    else: torch.save({"model": {}}, f)
    with pytest.raises(CheckpointError, match="corrupt or incomplete"):
        read_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="corrupt or incomplete"):
        resume(make_learner(data, work), tmp_path)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        read_checkpoint(tmp_path)


def test_failed_write_keeps_the_last_good_file(tmp_path):
    f = tmp_path / LAST
    atomic_save({"w": torch.ones(3)}, f)
    with pytest.raises(Exception):  # pickling a lambda fails halfway through the write
        atomic_save({"w": torch.zeros(3), "f": lambda: 0}, f)
    assert torch.equal(torch.load(f, weights_only=True)["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == [LAST]


# ---------------------------------------------------------------- early stopping and the best model

class Fixed(Callback):
    "A metric that returns the next of `values` each epoch."

    def __init__(self, name, values): self.name, self.values, self.i = name, values, 0

    def on_epoch_end(self, last_metrics, **kwargs):
        self.i += 1
        return add_metrics(last_metrics, self.values[self.i - 1])


def quick_learner(data, work, values):
    "A Learner whose metrics are token accuracy and `score` (no decoding, for speed)."
    learn = make_learner(data, work)
    learn.metrics = [TokenAccuracy(), Fixed("score", values)]
    return learn


def test_early_stopping_stops_and_the_best_weights_come_back(data, work, tmp_path):
    learn = quick_learner(data, work, [0.5, 0.5, 0.5, 0.5, 0.5])
    learn.fit_one_cycle(5, LR, callbacks=monitor_callbacks(learn, tmp_path, monitor="score", patience=2, plots=False))
    rows = read_jsonl(tmp_path)
    assert [r["epoch"] for r in rows] == [0, 1, 2] and {r["best_epoch"] for r in rows} == {0}
    best = torch.load(tmp_path / BEST, weights_only=True)
    last = read_checkpoint(tmp_path)
    assert best["epoch"] == 0 and last["stopped"]
    for k, v in learn.model.state_dict().items():
        assert torch.equal(v, best["model"][k])
    assert any(not torch.equal(v, last["model"][k]) for k, v in learn.model.state_dict().items())
    assert resume(make_learner(data, work), tmp_path) == 5  # stopped early: nothing left to train


def test_a_best_file_of_another_monitor_keeps_the_last_weights(data, work, tmp_path):
    "A run resumed under another --monitor: best.pth holds the old monitor's pick; warn, do not fail."
    from types import SimpleNamespace
    from seq2seq.training.best import SaveBest
    learn = quick_learner(data, work, [])
    before = {k: v.clone() for k, v in learn.model.state_dict().items()}
    rows = [{"epoch": 0, "valid_loss": 0.1, "score": 0.5}, {"epoch": 1, "valid_loss": 0.3, "score": 0.9},
            {"epoch": 2, "valid_loss": 0.2, "score": 0.7}]
    other = {k: torch.zeros_like(v) for k, v in before.items()}
    atomic_save({"kind": "seq2seq-best", "epoch": 0, "monitor": "valid_loss", "model": other}, tmp_path / BEST)
    with pytest.warns(UserWarning, match="best epoch by valid_loss"):
        SaveBest(learn, tmp_path, SimpleNamespace(rows=rows), monitor="score").on_train_end(None)
    assert all(torch.equal(v, before[k]) for k, v in learn.model.state_dict().items())
    with pytest.raises(CheckpointError, match="holds epoch 0, not the best epoch 1"):  # same monitor: corrupt
        atomic_save({"kind": "seq2seq-best", "epoch": 0, "monitor": "score", "model": other}, tmp_path / BEST)
        SaveBest(learn, tmp_path, SimpleNamespace(rows=rows), monitor="score").on_train_end(None)


def test_early_stopping_waits_while_the_metric_improves(data, work, tmp_path):
    learn = quick_learner(data, work, [0.1, 0.2, 0.3])
    learn.fit_one_cycle(3, LR, callbacks=monitor_callbacks(learn, tmp_path, monitor="score", patience=1, plots=False))
    assert [r["best_epoch"] for r in read_jsonl(tmp_path)] == [0, 1, 2]
    assert not read_checkpoint(tmp_path)["stopped"]


def test_patience_must_be_positive(data, work, tmp_path):
    with pytest.raises(UserError, match="patience must be >= 1"):
        monitor_callbacks(make_learner(data, work), tmp_path, patience=0)
