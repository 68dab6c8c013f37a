"""Smoke test of benchmarks/quality.py at tiny sizes on the Presidio corpus (skipped without ../shared)."""
import json
import math
from collections import Counter

import pandas as pd
import pytest

from benchmarks import quality

TINY = ["--corpus", "presidio", "--train-rows", "120", "--dev-rows", "30", "--epochs", "1", "--emb-size", "16",
        "--hidden", "16", "--layers", "1", "--variants", "plain,attn", "--decoders", "greedy,beam",
        "--beam-size", "2"]
RUNS = {f"{v}/{d}{f}" for v in ("plain", "attn") for d in ("greedy", "beam") for f in ("", "/free")} | {"copy"}
KEYS = {"corpus", "n_train", "n_test", "micro_f1", "precision", "recall", "exact_match", "exact_match_tagged",
        "faithfulness", "bleu", "chrf", "train_cpu_min", "train_wall_min", "decode_cpu_min", "decode_wall_min",
        "lr", "config"}


@pytest.mark.slow
def test_main_tiny_presidio(corpora, tmp_path, capsys):
    out = tmp_path / "q"
    ret = quality.main(TINY + ["--shared", str(corpora.parent), "--out", str(out)])
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert KEYS <= set(res) and res == json.loads(json.dumps(ret))
    assert res["corpus"] == "presidio" and res["n_train"] == 120 and res["n_test"] == 30
    for key in ("micro_f1", "exact_match", "faithfulness", "bleu", "chrf", "decode_cpu_min"):
        assert set(res[key]) == RUNS, key
    assert set(res["train_cpu_min"]) == {"plain", "attn"} and res["lr"] == {"plain": 3e-3, "attn": 3e-3}
    for name in RUNS:
        assert 0 <= res["micro_f1"][name] <= 1 and math.isfinite(res["bleu"][name])
        if not name.endswith("/free"): assert res["faithfulness"][name] == 1.0, name
    assert all(v > 0 for v in res["train_wall_min"].values())
    # the copy baseline: exact exactly where the reference has no tag, and no span found
    n_plain = res["n_test"] - json.loads((out / "results.json").read_text())["runs"]["copy"]["n_tagged"]
    assert res["exact_match"]["copy"] == round(n_plain / res["n_test"], 4) and res["micro_f1"]["copy"] == 0
    # the files: the split, the tables, the full results with per-type scores
    corpus = pd.read_csv(corpora / "presidio" / "synth.csv", dtype=str, keep_default_na=False)
    test = pd.read_csv(out / "data" / "presidio_test.csv", dtype=str, keep_default_na=False)
    train = pd.read_csv(out / "data" / "presidio_train.csv", dtype=str, keep_default_na=False)
    assert len(train) == 120 and len(test) == round(0.2 * len(corpus))
    # train and test are disjoint parts of the corpus (as multisets: it repeats some sentences)
    assert not Counter(train.orig_text) + Counter(test.orig_text) - Counter(corpus.orig_text)
    assert "| plain/beam |" in (out / "quality.md").read_text()
    full = json.loads((out / "results.json").read_text())
    assert set(full["runs"]) == RUNS and all("per_type" in r for r in full["runs"].values())
    assert (out / "models" / "attn" / "export.pkl").is_file()


def test_missing_corpus_is_one_clear_error(tmp_path):
    with pytest.raises(quality.DataError, match="corpus 'meddocan' not found"):
        quality.main(["--shared", str(tmp_path / "nowhere"), "--out", str(tmp_path / "q")])


def test_bad_variant_is_rejected():
    with pytest.raises(SystemExit):
        quality.main(["--variants", "plain,transformer"])


def test_run_names():
    assert quality.run_name("attn", "beam", True) == "attn/beam"
    assert quality.run_name("plain", "greedy", False) == "plain/greedy/free"
