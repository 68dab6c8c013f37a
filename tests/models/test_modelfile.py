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


# ---------------------------------------------------------------- crafted files (issue 22, case 2)
# An untrained model saved as a real file, then edited the way an attacker (or a broken copy) would:
# each must be refused with one clear line before any model is built, so it cannot choose our memory.

_SRC = ["xxunk", "xxpad", "xxbos", "xxeos"] + [f"w{i}" for i in range(12)]
_TGT = ["xxunk", "xxpad", "xxbos", "xxeos", "{{DATE}}", "{{/DATE}}"] + [f"w{i}" for i in range(12)]
_SMALL = dict(emb_size=8, hidden=8, sub_dim=4, buckets=16, word_dim=4, shape_dim=2, char_dim=4)


def _small_file(tmp_path, arch="aligned"):
    from seq2seq.models.config import ModelConfig
    from seq2seq.models.registry import build_model
    model = build_model(ModelConfig(arch=arch, **_SMALL), _SRC, _TGT)
    model.meta = dict(format_version=1, version="test", lang="en", src="orig_text", tgt="annotated_text", task="restore")
    return save_safe(model, _SRC, _TGT, tmp_path / f"{arch}.safetensors"), model


def _rewrite(path, out, edit_doc=None, edit_tensors=None):
    "Write `out` from the file `path` with its description and/or tensors edited."
    from safetensors import safe_open
    from safetensors.torch import save_file
    with safe_open(str(path), framework="pt") as f:
        doc, tensors = json.loads(f.metadata()["seq2seq"]), {k: f.get_tensor(k) for k in f.keys()}
    if edit_doc: edit_doc(doc)
    if edit_tensors: edit_tensors(tensors)
    save_file(tensors, str(out), metadata={"seq2seq": json.dumps(doc)})
    return out


@pytest.fixture
def no_build(monkeypatch):
    "Loading may read headers and shapes, but building the real model fails the test."
    import seq2seq.models.modelfile as mf
    def built(*a, **k): raise AssertionError("the model was built from a file that should have been refused")
    monkeypatch.setattr(mf, "build_model", built)


@pytest.mark.parametrize("arch", ["aligned", "seed"])
def test_an_untouched_small_file_loads_with_every_check(tmp_path, arch):
    path, model = _small_file(tmp_path, arch)
    loaded, doc = load_safe(path)
    a, b = model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a) and doc["src_itos"] == _SRC


@pytest.mark.parametrize("arch, field, value, match", [
    ("aligned", "hidden", 100_000, r"out of bounds: hidden=100000 \(at most 8,192\)"),
    ("aligned", "buckets", 10 ** 9, r"out of bounds: buckets=1000000000"),
    ("aligned", "src_words", 10 ** 7, r"out of bounds: src_words=10000000"),
    ("aligned", "hidden", 2048, r"rnn_enc.weight_ih_l0 is F32 \[24, 14\], its config implies F32 \[6144, 14\]"),
    ("aligned", "buckets", 4096, r"ngrams is F16 \[16, 4\], its config implies F16 \[4096, 4\]"),
    ("aligned", "src_words", 1000, r"word_emb.weight is F32 \[16, 4\], its config implies F32 \[1000, 4\]"),
    ("seed", "emb_size", 4096, r"emb_enc.weight is F32 \[16, 8\], its config implies F32 \[16, 4096\]"),
    ("aligned", "char_dim", 0, r"unexpected tensor char_conv.bias"),
])
def test_a_config_the_tensors_do_not_back_is_refused_before_building(tmp_path, no_build, arch, field, value, match):
    path, _ = _small_file(tmp_path, arch)
    bad = _rewrite(path, tmp_path / "bad.safetensors", edit_doc=lambda d: d["config"].update({field: value}))
    with pytest.raises(ModelFileError, match=match): load_safe(bad)


def test_a_vocabulary_longer_than_its_tensors_is_refused(tmp_path, no_build):
    path, _ = _small_file(tmp_path)
    more = _rewrite(path, tmp_path / "more.safetensors", edit_doc=lambda d: d["src_itos"].extend(["x", "y"]))
    with pytest.raises(ModelFileError, match="its src_itos has 18 entries, its tensor src_shape 16 rows"):
        load_safe(more)
    # millions of entries behind a few rows are refused before the description is even parsed
    huge = _rewrite(path, tmp_path / "huge.safetensors",
                    edit_tensors=lambda t: t.update(pad=torch.zeros(6_000_000, dtype=torch.uint8)),
                    edit_doc=lambda d: d["tgt_itos"].extend(f"t{i}" for i in range(400_000)))
    with pytest.raises(ModelFileError, match="lists more entries than its tensors have rows"): load_safe(huge)


def test_a_tensor_stored_with_another_dtype_of_the_same_size_is_refused(tmp_path, no_build):
    path, _ = _small_file(tmp_path)
    bad = _rewrite(path, tmp_path / "i32.safetensors",
                   edit_tensors=lambda t: t.update({"bridge.weight": t["bridge.weight"].view(torch.int32)}))
    with pytest.raises(ModelFileError, match=r"bridge.weight is I32 \[8, 16\], its config implies F32 \[8, 16\]"):
        load_safe(bad)


def test_a_truncated_file_is_named_truncated(tmp_path, no_build):
    path, _ = _small_file(tmp_path)
    raw = path.read_bytes()
    for cut, match in ((len(raw) - 100, r"truncated: [\d,]+ bytes, its tensors need [\d,]+; download or copy it again"),
                       (20, r"truncated: 20 bytes, fewer than its header says \([\d,]+\); download or copy it again"),
                       (5, r"5 bytes, too few for a safetensors file; truncated\?")):
        (tmp_path / "cut.safetensors").write_bytes(raw[:cut])
        with pytest.raises(ModelFileError, match=match): load_safe(tmp_path / "cut.safetensors")


def test_a_header_much_larger_than_its_tensors_is_refused_unread(tmp_path, no_build, monkeypatch):
    import seq2seq.models.modelfile as mf
    path, _ = _small_file(tmp_path)
    monkeypatch.setattr(mf, "HEADER_SLACK", 1000)
    padded = tmp_path / "padded.safetensors"
    from safetensors import safe_open
    from safetensors.torch import save_file
    with safe_open(str(path), framework="pt") as f: md, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    save_file(tensors, str(padded), metadata={**md, "padding": "x" * 200_000})
    with pytest.raises(ModelFileError, match=r"a header of [\d,]+ bytes for [\d,]+ bytes of tensors"): load_safe(padded)


def test_predict_refuses_a_crafted_file_in_one_line(tmp_path, no_build, csv, capsys):
    path, _ = _small_file(tmp_path)
    bad = _rewrite(path, tmp_path / "bad.safetensors", edit_doc=lambda d: d["config"].update(hidden=100_000))
    assert run(_predict_main(), ["--model", str(bad), "--csv", str(csv), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "hidden=100000" in err[0]


def test_implied_tensors_are_what_the_builder_makes_for_every_arch_and_cell():
    "The shapes read without allocating are the real model's, whatever the arch, cell and options."
    from seq2seq.models.config import ARCH_NAMES, CELLS, ModelConfig
    from seq2seq.models.registry import build_model, implied_tensors
    for arch in ARCH_NAMES:
        for cell in CELLS:
            cfg = ModelConfig(arch=arch, cell=cell, layers=2, src_words=9, **{**_SMALL, "buckets": 2 ** 21})
            _, specs = implied_tensors(cfg, _SRC, _TGT)
            real = build_model(cfg, _SRC, _TGT).state_dict()
            got = {n: (sp.shape, sp.dtype) for sp in specs for n in sp.names}
            assert got == {k: (tuple(v.shape), v.dtype) for k, v in real.items()}, (arch, cell)
