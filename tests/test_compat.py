import json
import pickle
import re
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from seq2seq import compat
from fastai.basic_train import Learner
import fastai.basic_train

ROOT = Path(__file__).resolve().parents[1]

_RECORD = """
import json, sys, warnings
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter('always')
    import {mod}
print(json.dumps([str(x.message) for x in w]))
"""


def _import_warnings(mod: str) -> list:
    "Messages of every warning raised while a fresh interpreter imports `mod`."
    res = subprocess.run([sys.executable, '-c', _RECORD.format(mod=mod)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


# --- 1. pkg_resources ------------------------------------------------------------------------

def test_pkg_resources_warning_does_not_escape():
    assert any('pkg_resources' in m for m in _import_warnings('pkg_resources'))  # it is there to hide
    msgs = _import_warnings('seq2seq.compat')
    assert not any('pkg_resources' in m for m in msgs), msgs


# --- 2. versions -----------------------------------------------------------------------------

@pytest.mark.parametrize('version', ['1.24.0', '1.26.4', '2.0.1'])
def test_check_versions_rejects_new_numpy(monkeypatch, version):
    monkeypatch.setattr(np, '__version__', version)
    with pytest.raises(ImportError, match=rf"numpy {re.escape(version)} .*numpy<1\.24"):
        compat.check_versions()


def test_check_versions_accepts_old_numpy(monkeypatch):
    monkeypatch.setattr(np, '__version__', '1.23.5')
    assert compat.check_versions() is None


def test_check_versions_needs_pkg_resources(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pkg_resources', None)  # makes `import pkg_resources` fail
    with pytest.raises(ImportError, match='setuptools<81'):
        compat.check_versions()


# --- 3. spaCy --------------------------------------------------------------------------------

@pytest.mark.parametrize('lang', ['en', 'es'])
def test_blank_nlp(lang):
    nlp = compat.blank_nlp(lang)
    assert nlp.lang == lang
    assert [t.text for t in nlp.tokenizer('Hola, Dr. Smith.')][-1] == '.'
    assert compat.blank_nlp(lang) is nlp  # built once


def test_blank_nlp_unknown_language():
    with pytest.raises(ValueError, match="no language 'zz'"):
        compat.blank_nlp('zz')


# --- 4. torch >= 2.6 loading -----------------------------------------------------------------

def _pairs(n: int = 12) -> pd.DataFrame:
    return pd.DataFrame({'orig_text': [f'Seen on day {i}.' for i in range(n)],
                         'annotated_text': [f'Seen on {{{{DATE}}}}day {i}{{{{/DATE}}}}.' for i in range(n)]})


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    from seq2seq.data.pairs import seq2seq_data
    return seq2seq_data(_pairs(), path=tmp_path_factory.mktemp('data'), bs=4, min_freq=1, valid_pct=0.25, seed=1)


def _tiny_learner(data, path) -> Learner:
    "A tiny seq2seq Learner (random embeddings), fitted one epoch so that it has optimizer state."
    from seq2seq.models.losses import seq2seq_loss
    from seq2seq.models.config import ModelConfig
    from seq2seq.models.rnn import Seq2SeqRNN
    torch.manual_seed(0)
    nx, ny = len(data.train_ds.x.vocab.itos), len(data.train_ds.y.vocab.itos)
    model = Seq2SeqRNN(nn.Embedding(nx, 8), nn.Embedding(ny, 8), ModelConfig(emb_size=8, hidden=8, layers=1))
    learn = Learner(data, model, loss_func=seq2seq_loss, path=path, silent=True)
    learn.fit(1, 1e-2)
    return learn


def _same_weights(m1, m2) -> bool:
    s1, s2 = m1.state_dict(), m2.state_dict()
    return s1.keys() == s2.keys() and all(torch.equal(s1[k], s2[k]) for k in s1)


def test_learner_is_patched():
    assert Learner.load._seq2seq_compat and Learner.purge._seq2seq_compat


def test_unpatched_purge_fails(data, tmp_path):
    learn = _tiny_learner(data, tmp_path)
    with pytest.raises(pickle.UnpicklingError):  # the reason for the workaround: purge pickles the model
        Learner.purge.__wrapped__(learn)


def test_learner_save_load_with_optimizer(data, tmp_path):
    learn = _tiny_learner(data, tmp_path)
    learn.save('m', with_opt=True)
    other = _tiny_learner(data, tmp_path)
    other.fit(1, 1e-1)
    assert not _same_weights(other.model, learn.model)
    other.load('m', with_opt=True)
    assert _same_weights(other.model, learn.model)
    assert len(other.opt.opt.state) > 0
    other.fit(1, 1e-3)  # optimizer state usable after the load
    other.load('m', purge=True)  # purges (a full pickle round trip) before loading
    assert _same_weights(other.model, learn.model)


def test_learner_purge(data, tmp_path):
    learn = _tiny_learner(data, tmp_path)
    sd = {k: v.clone() for k, v in learn.model.state_dict().items()}
    assert learn.purge() is learn
    assert all(torch.equal(v, learn.model.state_dict()[k]) for k, v in sd.items())


def test_load_learner_export(data, tmp_path):
    learn = _tiny_learner(data, tmp_path)
    learn.export()
    with pytest.raises(pickle.UnpicklingError):
        fastai.basic_train.load_learner(tmp_path)
    loaded = compat.load_learner(tmp_path)
    assert _same_weights(loaded.model, learn.model)
    assert loaded.data.y.vocab.itos == data.train_ds.y.vocab.itos


def test_load_data(data):
    data.save('data.pkl')
    with pytest.raises(pickle.UnpicklingError):
        torch.load(data.path / 'data.pkl')
    back = compat.load_data(data.path, 'data.pkl', bs=4, num_workers=0)
    assert back.train_ds.y.vocab.itos == data.train_ds.y.vocab.itos
    assert [list(x) for x in back.valid_ds.x.items] == [list(x) for x in data.valid_ds.x.items]
    (src, tgt_in), tgt_out = back.one_batch()
    assert (tgt_in[:, 0] == back.train_ds.y.vocab.stoi['xxbos']).all()  # our collate survived pickling


def test_fastai_load_is_scoped(tmp_path):
    f = tmp_path / 'obj.pt'
    torch.save({'fn': partial(max, 1)}, f)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(f)
    with compat.fastai_load():
        assert torch.load(f)['fn'](3) == 3
    with pytest.raises(pickle.UnpicklingError):
        torch.load(f)
    with pytest.raises(RuntimeError), compat.fastai_load():
        raise RuntimeError('boom')
    with pytest.raises(pickle.UnpicklingError):  # restored after an error, too
        torch.load(f)


def test_fastai_load_keeps_explicit_weights_only(tmp_path):
    f = tmp_path / 'obj.pt'
    torch.save({'fn': partial(max, 1)}, f)
    with compat.fastai_load(), pytest.raises(pickle.UnpicklingError):
        torch.load(f, weights_only=True)


# ---------------------------------------------------------------- 5. model files of the flat layout

LEGACY = ROOT / "tests" / "fixtures" / "legacy"


def _pickled_globals(export: Path) -> set:
    "(module, name) of every class or function the pickle of an export names."
    import io
    import pickletools
    import zipfile
    z = zipfile.ZipFile(export)
    data = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    res, strs = set(), []
    for op, arg, _ in pickletools.genops(io.BytesIO(data)):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"): strs.append(arg)
        elif op.name == "STACK_GLOBAL": res.add(tuple(strs[-2:]))
        elif op.name == "GLOBAL": res.add(tuple(arg.split(" ", 1)))
    return res


@pytest.mark.parametrize("arch", ["aligned", "seed"])
def test_model_files_written_before_the_move_give_the_same_predictions(arch, capsys):
    "export.pkl (old class paths, read through compat.moved) and model.safetensors of the pre-move code."
    from seq2seq.training.learner import Seq2SeqLearner, load_seq2seq
    old = {m for m, _ in _pickled_globals(LEGACY / arch / "export.pkl") if m.startswith("seq2seq.")}
    assert "seq2seq.learner" in old and "seq2seq.model" in old  # the fixture really names the flat layout
    exp = json.loads((LEGACY / "expected.json").read_text())
    for name in ("export.pkl", "model.safetensors"):
        learn = load_seq2seq(LEGACY / arch / name, trust=True)
        assert isinstance(learn, Seq2SeqLearner)
        assert learn.restore(exp["texts"]) == exp["predictions"][arch], name


def test_every_old_class_path_resolves_to_the_same_kind_of_object():
    import importlib
    for arch in ("aligned", "seed"):
        for mod, name in _pickled_globals(LEGACY / arch / "export.pkl"):
            if not mod.startswith("seq2seq"): continue
            new_mod, new_name = compat.moved(mod, name)
            assert new_mod != mod, f"{mod}.{name} is a path of the flat layout, not mapped"
            obj = getattr(importlib.import_module(new_mod), new_name)
            assert obj.__module__ == new_mod and obj.__name__ == name  # defined there, not re-exported
    for old, new in compat.MOVED_MODULES.items():  # every old module's home exists
        importlib.import_module(new)
    for (old, name), new in compat.MOVED_NAMES.items():
        assert getattr(importlib.import_module(new), name).__module__ == new, (old, name)


def test_without_the_alias_map_an_old_export_does_not_load(monkeypatch):
    "The map is what makes the old files load (the flat modules are gone)."
    from seq2seq.errors import ModelFileError
    from seq2seq.training.learner import load_seq2seq
    monkeypatch.setattr(compat, "moved", lambda module, name: (module, name))
    with pytest.raises(ModelFileError, match=r"No module named 'seq2seq\.(metrics|learner|model|callbacks|tokenizer|cells|aligned)'"):
        load_seq2seq(LEGACY / "seed" / "export.pkl", trust=True)
