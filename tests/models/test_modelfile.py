"""seq2seq/models/modelfile.py: the safe model file round-trips, and a pickle is never run unless trusted."""
import importlib.util
import json
import os
from pathlib import Path

import pandas as pd
import pytest
import torch

from seq2seq.commands.cli import run
from seq2seq.errors import ModelFileError
from seq2seq.models.modelfile import is_pickle_file, load_safe, save_safe
from seq2seq.training.learner import load_seq2seq

ROOT = Path(__file__).resolve().parents[2]


def _predict_main():
    spec = importlib.util.spec_from_file_location("predict_under_test_mf", ROOT / "scripts" / "predict.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


class _Evil:
    "Unpickling this calls os.system: what a malicious model file does."
    def __init__(self, cmd): self.cmd = cmd
    def __reduce__(self): return (os.system, (self.cmd,))


@pytest.fixture
def evil(tmp_path):
    "A torch zip whose pickle touches `pwned` when loaded, and the path it would create."
    flag = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    torch.save({"model": _Evil(f"touch {flag}")}, path)
    return path, flag


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "in.csv"
    pd.DataFrame({"orig_text": ["Seen on 3/4/2091."]}).to_csv(path, index=False)
    return path


def test_the_crafted_file_would_run_code(evil):
    "The fixture is real: unpickling it does create the file (so the tests below can fail)."
    path, flag = evil
    torch.load(path, weights_only=False)
    assert flag.exists()


@pytest.mark.parametrize("name", ["evil.pkl", "model.safetensors", "export.pkl"])
def test_predict_refuses_a_pickle_and_runs_nothing(evil, csv, tmp_path, capsys, name):
    path, flag = evil
    path = path.rename(tmp_path / name)  # the name does not matter: the content decides
    out = tmp_path / "out.csv"
    assert run(_predict_main(), ["--model", str(path), "--csv", str(csv), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pickle-based model file, refused" in err[0] and "--trust-model-file" in err[0]
    assert not flag.exists() and not out.exists()
    with pytest.raises(ModelFileError, match="refused"): load_seq2seq(path)
    if name != "evil.pkl":  # a folder stands for its model.safetensors, else its export.pkl
        with pytest.raises(ModelFileError, match="refused"): load_seq2seq(tmp_path)
    assert not flag.exists()


def test_training_writes_a_safe_file_that_predicts_like_the_pickle(tiny_model):
    assert tiny_model.name == "model.safetensors" and not is_pickle_file(tiny_model)
    safe, pkl = load_seq2seq(tiny_model), load_seq2seq(tiny_model.parent / "export.pkl", trust=True)
    texts = pd.read_csv(ROOT / "data" / "sample.csv").orig_text.iloc[240:260].tolist()
    assert safe.restore(texts) == pkl.restore(texts)
    assert safe.meta == pkl.meta
    a, b = safe.model.state_dict(), pkl.model.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert load_seq2seq(tiny_model.parent).meta == safe.meta  # a folder stands for its model.safetensors


def test_the_file_holds_json_and_tensors_only(tiny_model):
    from safetensors import safe_open
    with safe_open(str(tiny_model), framework="pt") as f:
        doc = json.loads(f.metadata()["seq2seq"])
        names = set(f.keys())
    assert doc["meta"]["lang"] == "en" and doc["config"]["emb_size"] == 24
    assert doc["src_itos"][:2] == ["xxunk", "xxpad"] and "{{DATE}}" in doc["tgt_itos"]
    assert "emb_dec.weight" in names or "out.weight" in names  # the tied weight, stored once


def test_buffers_are_saved_and_a_file_the_builder_cannot_fit_is_refused(tiny_model, tmp_path):
    from safetensors import safe_open
    learn = load_seq2seq(tiny_model)
    learn.model.register_buffer("table", torch.arange(6.).view(2, 3))  # e.g. sub-word tables
    path = save_safe(learn.model, learn.data.x.vocab.itos, learn.data.y.vocab.itos, tmp_path / "m.safetensors")
    with safe_open(str(path), framework="pt") as f: assert torch.equal(f.get_tensor("table"), learn.model.table)
    with pytest.raises(ModelFileError, match="do not fit"):  # strict: this builder makes no such buffer
        load_safe(path)


def test_bad_safe_files(tiny_model, tmp_path):
    from safetensors.torch import save_file
    plain = tmp_path / "plain.safetensors"
    save_file({"x": torch.zeros(2)}, str(plain))
    other = tmp_path / "other.safetensors"
    save_file({"x": torch.zeros(2)}, str(other), metadata={"seq2seq": json.dumps({"format": 99})})
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    for path, match in [(plain, "not a model of this tool"), (other, "format 99"),
                        (junk, "not a model exported by this tool")]:
        with pytest.raises(ModelFileError, match=match): load_seq2seq(path)


def test_a_safetensors_header_length_ending_in_0x80_is_not_a_pickle(tmp_path):
    from seq2seq.models.modelfile import is_pickle_file
    doc = b'{"__metadata__":{"x":"' + b"y" * (0x180 - 22 - 3) + b'"}}'
    assert len(doc) == 0x180
    path = tmp_path / "m.safetensors"
    path.write_bytes(len(doc).to_bytes(8, "little") + doc)
    assert not is_pickle_file(path)
    path.write_bytes(b"\x80\x04\x95" + b"\x00" * 20)
    assert is_pickle_file(path)
