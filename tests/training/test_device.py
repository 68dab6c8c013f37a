"""Device choice, CPU threads, moving a Learner and its data, fp16 (seq2seq/training/device.py)."""
import pytest
import torch

from seq2seq import compat  # noqa: F401  (before fastai)
from fastai.callback import Callback
from fastai.torch_core import defaults

from seq2seq.data.pairs import read_pairs, seq2seq_data
from seq2seq.errors import UserError
from seq2seq.models.config import ModelConfig
from seq2seq.models.losses import TokenAccuracy
from seq2seq.training.device import (
    MAX_DEFAULT_THREADS, maybe_fp16, pick_device, set_threads, tensors_on, usable_cores, use_device)
from seq2seq.training.learner import seq2seq_learner
from seq2seq.utils import seed_everything

CPU = torch.device("cpu")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(autouse=True)
def keep_torch_state(monkeypatch):
    "Tests change torch's thread count and fastai's default device; put both back."
    n = torch.get_num_threads()
    monkeypatch.setattr(defaults, "device", defaults.device)
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def no_cuda(monkeypatch):
    "Pretend no CUDA device exists, so the refusal is tested on any machine."
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


# ---------------------------------------------------------------- pick_device

def test_pick_device_cpu_and_auto():
    assert pick_device("cpu") == CPU == pick_device(" CPU ")
    assert pick_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")


def test_auto_is_cpu_without_cuda(no_cuda):
    assert pick_device("auto") == CPU and pick_device(None) == CPU


@pytest.mark.parametrize("name", ["cuda", "cuda:0"])
def test_cuda_without_a_gpu_is_refused(no_cuda, name):
    with pytest.raises(ValueError) as e:
        pick_device(name)
    msg = str(e.value)
    assert f"device {name!r}: no CUDA device is available" in msg and "use device cpu or auto" in msg


def test_cuda_index_out_of_range(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert pick_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ValueError, match="only 1 CUDA device"):
        pick_device("cuda:3")


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "meta"])
def test_unknown_device_names(name):
    with pytest.raises(UserError, match=f"device {name!r}"):
        pick_device(name)


@needs_cuda
def test_cuda_when_present():
    assert pick_device("cuda").type == "cuda"
    assert tensors_on(torch.zeros(2, device="cuda"), "cuda") and not tensors_on(torch.zeros(2), "cuda")


# ---------------------------------------------------------------- threads

def test_set_threads():
    assert set_threads(2) == 2 and torch.get_num_threads() == 2
    n = set_threads()
    assert n == min(usable_cores(), MAX_DEFAULT_THREADS) and torch.get_num_threads() == n >= 1
    with pytest.raises(UserError, match="threads must be >= 1"):
        set_threads(0)


# ---------------------------------------------------------------- tensors_on

def test_tensors_on():
    m = torch.nn.BatchNorm1d(3)  # parameters and buffers
    assert tensors_on(m, "cpu") and tensors_on([torch.zeros(1), {"a": (torch.ones(2),)}], CPU)
    m.running_mean = torch.zeros(3, device="meta")  # one buffer elsewhere is enough to fail
    assert not tensors_on(m, "cpu")
    assert not tensors_on({"x": [torch.zeros(1), torch.zeros(1, device="meta")]}, "cpu")


# ---------------------------------------------------------------- a CPU training run

@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return seq2seq_data(read_pairs("data/sample.csv", verbose=False).iloc[:64], path=tmp_path_factory.mktemp("dev"),
                        bs=16)


def tiny_learner(data):
    seed_everything(0)
    learn = seq2seq_learner(data, ModelConfig(emb_size=16, hidden=16, layers=1), cache_dir=data.path / "cache",
                            verbose=False, decode_limit=16, silent=True)
    learn.metrics = [TokenAccuracy()]  # skip greedy decoding: this test is about devices
    return learn


class BatchDevices(Callback):
    "Remember every batch's inputs, targets and outputs."

    def __init__(self): self.seen = []

    def on_loss_begin(self, last_input, last_target, last_output, **kwargs):
        self.seen.append([last_input, last_target, last_output])


def test_cpu_run_keeps_everything_on_cpu(data):
    use_device(data, "cpu")
    assert defaults.device == CPU and data.device == CPU
    assert all(dl.device == CPU for dl in (data.train_dl, data.valid_dl, data.fix_dl, data.single_dl))
    learn = use_device(tiny_learner(data), pick_device("cpu"))
    rec = BatchDevices()
    learn.fit_one_cycle(1, 1e-2, callbacks=[rec])
    assert len(rec.seen) == len(data.train_dl) + len(data.valid_dl)
    assert tensors_on(rec.seen, "cpu")
    assert tensors_on(learn.model, "cpu") and len(list(learn.model.buffers())) + len(list(learn.model.parameters())) > 0
    assert tensors_on(learn.opt.opt.state_dict()["state"], "cpu") and learn.opt.opt.state_dict()["state"]


@needs_cuda
def test_use_device_moves_model_and_batches_to_cuda(data):
    learn = use_device(tiny_learner(data), "cuda")
    rec = BatchDevices()
    learn.fit_one_cycle(1, 1e-2, callbacks=[rec])
    assert tensors_on(learn.model, "cuda") and tensors_on(rec.seen, "cuda")
    use_device(data, "cpu")


def test_fp16_only_on_cuda(data):
    learn = tiny_learner(data)
    with pytest.raises(UserError, match="fp16 needs a CUDA device"):
        maybe_fp16(learn, True, CPU)
    n = len(learn.callbacks)
    assert maybe_fp16(learn, False, CPU) is learn and len(learn.callbacks) == n
    assert all(p.dtype == torch.float32 for p in learn.model.parameters())


@needs_cuda
def test_fp16_on_cuda_trains(data):
    learn = use_device(tiny_learner(data), "cuda")
    maybe_fp16(learn, True, "cuda")
    learn.fit_one_cycle(1, 1e-2)
    assert tensors_on(learn.model, "cuda") and any(p.dtype == torch.float16 for p in learn.model.parameters())
    assert torch.isfinite(torch.tensor(float(learn.recorder.val_losses[-1])))
    use_device(data, "cpu")
