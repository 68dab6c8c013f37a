"""benchmarks/quality.py: the one-table harness on a small slice (copy + crf + seed), its options and errors."""
import json
from collections import Counter

import pandas as pd
import pytest

from benchmarks import quality

TINY = ["--corpus", "presidio", "--train-rows", "150", "--dev-rows", "40", "--systems", "copy,crf,seed,aligned",
        "--set", "seed.epochs=1", "--set", "seed.model.emb_size=16", "--set", "seed.model.hidden=16",
        "--set", "seed.model.layers=1", "--set", "seed.lr=0.003", "--set", "seed.decode_limit=0",
        "--max-train-rows", "seed=100", "--set", "crf.max_iterations=40"]


@pytest.mark.slow
def test_main_small_slice(corpora, tmp_path, capsys):
    out = tmp_path / "q"
    ret = quality.main(TINY + ["--shared", str(corpora.parent), "--out", str(out)])
    printed = capsys.readouterr().out.strip().splitlines()
    res = json.loads(printed[-1])
    assert res == json.loads(json.dumps(ret))
    c = res["corpora"]["presidio"]
    assert c["n_train"] == 150 and c["n_test"] == 40
    sy = c["systems"]
    assert list(sy) == ["copy", "crf", "seed", "aligned"]
    # the copy floor finds no span; every system that ran keeps the source exactly
    assert sy["copy"]["f1"] == 0 and sy["copy"]["train_cpu_min"] == 0 and sy["copy"]["sentences_per_s"] is None
    for s in ("copy", "crf", "seed"): assert sy[s]["faithfulness"] == 1.0, s
    # even on 150 sentences the CRF finds some of Presidio's spans; it trains on all rows, uncapped
    assert sy["crf"]["f1"] > 0.2 and sy["crf"]["train_cpu_min"] > 0 and sy["crf"]["sentences_per_s"] > 0
    assert sy["crf"]["n_train"] == 150 and sy["crf"]["note"] == "capped: max_iterations=40"
    assert sy["seed"]["n_train"] == 100 and "capped: 100 rows, epochs=1" in sy["seed"]["note"]
    assert 0 <= sy["seed"]["f1"] <= 1 and sy["seed"]["train_cpu_min"] > 0
    if quality.arch_config("aligned") is None: assert "not in this version" in sy["aligned"]["skipped"]
    # one table, a row per system, the five most frequent types as columns, the capped rows labelled
    md = (out / "quality.md").read_text()
    assert md.count("| system |") == 1 and "| seed |" in md and "capped: 100 rows" in md
    full = json.loads((out / "results.json").read_text())
    types = full["corpora"]["presidio"]["types"]
    assert len(types) == 5 and all(f"F1 {t}" in md for t in types)
    assert (out / "presidio" / "models" / "crf" / "crf.crfsuite").is_file()
    assert (out / "presidio" / "models" / "seed" / "export.pkl").is_file()
    # train and test are disjoint parts of the corpus (as multisets: it repeats some sentences)
    corpus = pd.read_csv(corpora / "presidio" / "synth.csv", dtype=str, keep_default_na=False)
    train, test = (pd.read_csv(out / "presidio" / "data" / f, dtype=str, keep_default_na=False)
                   for f in ("train.csv", "test.csv"))
    assert not Counter(train.orig_text) + Counter(test.orig_text) - Counter(corpus.orig_text)


def test_splits_are_seeded_and_disjoint(corpora, tmp_path):
    a = quality._parse(["--shared", str(corpora.parent), "--corpus", "wikigold"])
    tr, te, lang = quality.load_corpus("wikigold", a)
    tr2, te2, _ = quality.load_corpus("wikigold", a)
    assert lang == "en" and tr.equals(tr2) and te.equals(te2)
    assert len(te) == round(0.2 * (len(tr) + len(te)))
    assert set(quality.top_types(te)) == {"PER", "LOC", "ORG", "MISC"}  # CoNLL types, only four of them


def test_missing_corpus_is_one_clear_error(tmp_path):
    with pytest.raises(quality.DataError, match="corpus 'meddocan' not found"):
        quality.main(["--shared", str(tmp_path / "nowhere"), "--out", str(tmp_path / "q")])


@pytest.mark.parametrize("argv", [["--systems", "copy,transformer"], ["--corpus", "conll"],
                                  ["--max-train-rows", "seed"], ["--set", "seed=3"], ["--set", "copy.epochs=3"]])
def test_bad_options_are_rejected(argv):
    with pytest.raises(SystemExit):
        quality._parse(argv)


def test_set_names_a_real_field_with_the_right_type():
    from seq2seq.models.crf import CrfConfig
    from seq2seq.training.config import TrainConfig
    cfg = quality._apply(TrainConfig(), {"epochs": "3", "model.hidden": "64", "lr": "0.01"}, "seed")
    assert cfg.epochs == 3 and cfg.model.hidden == 64 and cfg.lr == 0.01
    with pytest.raises(quality.ConfigError, match="no such field"):
        quality._apply(TrainConfig(), {"model.nope": "1"}, "seed")
    with pytest.raises(quality.ConfigError, match="not a valid int"):
        quality._apply(CrfConfig(), {"max_iterations": "many"}, "crf")
    with pytest.raises(quality.ConfigError, match="hidden must be >= 1"):  # the config validates itself
        quality._apply(TrainConfig(), {"model.hidden": "0"}, "seed")
    with pytest.raises(quality.ConfigError, match="max_iterations must be >= 1"):
        quality._apply(CrfConfig(), {"max_iterations": "0"}, "crf")


def test_arch_is_data():
    "Every architecture name maps to a ModelConfig or to None (skipped), never to an error."
    for arch in quality.ARCHS:
        cfg = quality.arch_config(arch)
        assert cfg is None or getattr(cfg, "arch", arch) == arch
    assert quality.arch_config("seed") is not None and quality.default_arch() in quality.ARCHS


def test_a_bad_set_fails_before_any_training(corpora, tmp_path):
    with pytest.raises(quality.ConfigError, match="seed.nope: TrainConfig has no such field"):
        quality.main(["--shared", str(corpora.parent), "--corpus", "presidio", "--systems", "crf,seed",
                      "--set", "seed.nope=1", "--out", str(tmp_path / "q")])
    assert not (tmp_path / "q" / "presidio").exists()
