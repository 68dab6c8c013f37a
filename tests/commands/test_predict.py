"""scripts/predict.py and seq2seq/deid/predict_csv.py end to end on the tiny model; benchmarks/decode.py."""
import importlib.util
import json
import os
import pickle
from pathlib import Path

import pandas as pd
import pytest

from seq2seq.commands.cli import run
from seq2seq.deid.predict_csv import predict_csv
from seq2seq.text.tags import strip_tags, validate
from seq2seq.training.learner import export_learner, load_seq2seq

ROOT = Path(__file__).resolve().parents[2]


def _script(rel: str):
    "Import a script file as a module (scripts/ and benchmarks/ are not packages)."
    spec = importlib.util.spec_from_file_location(Path(rel).stem + "_under_test", ROOT / rel)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def predict():
    return _script("scripts/predict.py")


@pytest.fixture(scope="module")
def learn(tiny_model):
    return load_seq2seq(tiny_model)


def _read(path) -> pd.DataFrame:
    "A CSV exactly as written: every cell a string, empty cells ''."
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture
def csv(tmp_path):
    """30 sample rows plus extra columns (ids with leading zeros, 'NA' text), empty sources and a
    missing reference, in a shuffled order that the output must keep."""
    df = pd.read_csv(ROOT / "data" / "sample.csv").iloc[240:270].reset_index(drop=True)
    df.insert(0, "id", [f"{i:04d}" for i in range(len(df))][::-1])
    df["note"] = ["NA", "null", "", "x,y", 'say "hi"'] * 6
    df.loc[[3, 17], "orig_text"] = ""
    df.loc[11, "annotated_text"] = ""
    path = tmp_path / "in.csv"
    df.to_csv(path, index=False)
    return path


def _listing(folder: Path) -> set:
    return {p.name for p in folder.iterdir()}


def test_main_end_to_end(predict, tiny_model, csv, tmp_path, capsys):
    out = tmp_path / "out.csv"
    predict.main(["--model", str(tiny_model), "--csv", str(csv), "--out", str(out), "--ref", "annotated_text",
                  "--decoder", "beam", "--show", "2"])
    src, res = _read(csv), _read(out)
    assert list(res.columns) == list(src.columns) + ["prediction"]
    pd.testing.assert_frame_equal(res[src.columns], src)  # every cell and the row order kept
    empty = src.orig_text == ""
    assert (res.prediction[empty] == "").all() and empty.sum() == 2
    for s, p in zip(src.orig_text[~empty], res.prediction[~empty]):
        assert strip_tags(p) == s
        validate(p)
    log = capsys.readouterr().out
    assert f"wrote {len(src)} rows" in log and "2 empty source cell(s)" in log and "prediction:" in log
    m = json.loads((tmp_path / "out.metrics.json").read_text())
    for k in ("bleu", "chrf", "exact_match", "faithfulness"): assert isinstance(m[k], float)
    assert set(m["spans"]) >= {"precision", "recall", "f1", "per_type"} and isinstance(m["spans"]["per_type"], dict)
    assert m["faithfulness"] == 1.0
    assert m["n"] == len(src) - 3 and m["empty_sources"] == 2  # empty sources and the missing reference


def test_n_best_adds_a_json_column(predict, tiny_model, csv, tmp_path):
    out = tmp_path / "nbest.csv"
    predict.main(["--model", str(tiny_model), "--csv", str(csv), "--out", str(out), "--decoder", "beam",
                  "--beam-size", "3", "--n-best", "2", "--no-faithful", "--bs", "7"])
    res = _read(out)
    assert list(res.columns)[-2:] == ["prediction", "prediction_nbest"]
    assert not (tmp_path / "nbest.metrics.json").exists()  # no --ref, no metrics
    for pred, cell in zip(res.prediction, res.prediction_nbest):
        hs = json.loads(cell)
        assert 1 <= len(hs) <= 2 and hs[0][0] == pred
        assert [s for _, s in hs] == sorted((s for _, s in hs), reverse=True)


def test_free_mode_output_is_scored_as_unfaithful(predict, tiny_model, csv, tmp_path):
    "An almost untrained model generating freely does not copy its source."
    out = tmp_path / "free.csv"
    predict.main(["--model", str(tiny_model), "--csv", str(csv), "--out", str(out), "--ref", "annotated_text",
                  "--no-faithful"])
    assert json.loads((tmp_path / "free.metrics.json").read_text())["faithfulness"] < 1.0


# ---------------------------------------------------------------- bad input: one line, exit 2, no OUT

@pytest.fixture(scope="module")
def other_version(tiny_model, tmp_path_factory):
    "An export whose format_version is not this tool's."
    learn = load_seq2seq(tiny_model.parent / "export.pkl", trust=True)
    learn.model.meta["format_version"] = 999
    return export_learner(learn, tmp_path_factory.mktemp("v999") / "export.pkl")


def _bad_models(tmp_path, other_version):
    junk, dump = tmp_path / "junk.pkl", tmp_path / "dict.pkl"
    junk.write_bytes(os.urandom(4096))
    dump.write_bytes(pickle.dumps({"model": "not one", "format_version": 1}))
    return {"missing": (tmp_path / "nope" / "export.pkl", "no such model file"),
            "random bytes": (junk, "not a model exported by this tool"),
            "other pickle": (dump, "a pickle-based model file, refused"),
            "format 999 untrusted": (other_version, "a pickle-based model file, refused")}


def _fails(argv, capsys, out: Path, match: str):
    assert run(_script("scripts/predict.py").main, argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and match in err[0], err
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]  # no temp file left


def test_bad_model_files(tiny_model, csv, tmp_path, other_version, capsys):
    out = tmp_path / "out.csv"
    for name, (model, match) in _bad_models(tmp_path, other_version).items():
        _fails(["--model", str(model), "--csv", str(csv), "--out", str(out)], capsys, out, match)
    # trusted, a pickle is read: then its contents are checked (one line of warning, one of error)
    for model, match in [(tmp_path / "dict.pkl", "not a model exported by this tool"), (other_version, "format 999")]:
        assert run(_script("scripts/predict.py").main, ["--model", str(model), "--csv", str(csv), "--out", str(out),
                                                         "--trust-model-file"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 2 and err[0].startswith("warning: loading a pickle") and match in err[1], err
        assert not out.exists()


def test_bad_csv(tiny_model, csv, tmp_path, capsys):
    out = tmp_path / "out.csv"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("orig_text\nCaf\xe9 au lait\n".encode("latin-1"))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header = tmp_path / "header.csv"
    header.write_text("orig_text,annotated_text\n")
    for argv, match in [(["--csv", str(csv), "--src", "text"], "no column 'text'"),
                        (["--csv", str(latin)], "not UTF-8"),
                        (["--csv", str(empty)], "empty"),
                        (["--csv", str(header)], "no rows"),
                        (["--csv", str(tmp_path / "none.csv")], "no such file"),
                        (["--csv", str(csv), "--ref", "gold"], "no reference column 'gold'")]:
        _fails(["--model", str(tiny_model), "--out", str(out)] + argv, capsys, out, match)


def test_unwritable_output(tiny_model, csv, tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    for out, match in [(tmp_path / "no" / "such" / "out.csv", "does not exist"),
                       (a_file / "out.csv", "is not a folder"), (tmp_path, "is a folder")]:
        assert run(_script("scripts/predict.py").main,
                   ["--model", str(tiny_model), "--csv", str(csv), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and match in err[0]
    assert _listing(tmp_path) == {"a_file", "in.csv"}


@pytest.mark.parametrize("argv, match", [
    (["--beam-size", "0"], "--beam-size must be >= 1"), (["--top-p", "1.5"], "--top-p must be in (0, 1]"),
    (["--top-k", "0"], "--top-k must be >= 1"), (["--temperature", "0"], "--temperature must be > 0"),
    (["--decoder", "beam", "--beam-size", "2", "--n-best", "3"], "--n-best must be <= --beam-size"),
    (["--decoder", "viterbi"], "invalid choice")])
def test_bad_options(predict, csv, tmp_path, capsys, argv, match):
    out = tmp_path / "out.csv"
    with pytest.raises(SystemExit) as e:
        predict.main(["--model", "m.pkl", "--csv", str(csv), "--out", str(out)] + argv)
    assert e.value.code == 2
    assert match in capsys.readouterr().err.strip().splitlines()[-1]
    assert not out.exists()


def test_interrupted_run_leaves_no_output(learn, csv, tmp_path, monkeypatch):
    calls, restore = [], learn.restore

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1: raise KeyboardInterrupt
        return restore(*args, **kwargs)
    monkeypatch.setattr(learn, "restore", flaky)
    out = tmp_path / "out.csv"
    with pytest.raises(KeyboardInterrupt):
        predict_csv(learn, csv, out, chunk_rows=8, log=lambda *a: None)
    assert len(calls) == 2 and _listing(tmp_path) == {"in.csv"}


def test_predict_csv_in_chunks_equals_one_pass(learn, csv, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    predict_csv(learn, csv, a, chunk_rows=4, log=lambda *x: None)
    predict_csv(learn, csv, b, chunk_rows=1000, log=lambda *x: None)
    assert a.read_bytes() == b.read_bytes()


def test_a_long_source_decodes_faithfully(learn):
    "No fixed source limit: max_len scales with each source (and faithful decoding gets what it needs)."
    words = pd.read_csv(ROOT / "data" / "sample.csv").orig_text.iloc[:50].str.cat(sep=" ").split()
    text = " ".join((words * 10)[:400])
    out = learn.predict(text)  # this model tags most words: more steps than the default 2 * 400 + 10
    assert strip_tags(out) == text
    validate(out)


# ---------------------------------------------------------------- benchmarks/decode.py

def test_benchmark_runs_on_the_tiny_model(tiny_model, capsys):
    bench = _script("benchmarks/decode.py")
    bench.main(["--model", str(tiny_model), "--rows", "20", "--repeats", "1",
                "--csv", str(tiny_model.parent / "valid.csv")])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    res = json.loads(last)
    assert set(res["sents_per_s"]) == {"greedy", "topk", "nucleus", "beam-5"}
    assert all(v > 0 for v in res["sents_per_s"].values())
    assert res["beam_batched_speedup"] > 0 and res["beam_vs_greedy_wall"] > 0
    assert res["rows"] == 20 and res["threads"] >= 1


def test_benchmark_times_chosen_decoders_in_cpu_seconds(tiny_model, capsys):
    bench = _script("benchmarks/decode.py")
    res = bench.main(["--model", str(tiny_model), "--rows", "12", "--repeats", "1", "--decoders", "greedy,beam",
                      "--sample", "--threads", "1", "--csv", str(tiny_model.parent / "valid.csv")])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == res
    assert set(res["sents_per_s"]) == set(res["sents_per_cpu_s"]) == {"greedy", "beam-5"}
    assert all(v > 0 for v in res["sents_per_cpu_s"].values()) and res["beam_vs_greedy_wall"] > 0
    assert "beam_batched_speedup" not in res and res["rows"] == 12 and res["threads"] == 1
    with pytest.raises(SystemExit): bench.parse_args(["--decoders", "greedy,sample"])


def test_benchmark_without_a_model(tmp_path, capsys):
    bench = _script("benchmarks/decode.py")
    assert run(bench.main, ["--model", str(tmp_path / "export.pkl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "make demo" in err[0]


# ---------------------------------------------------------------- issue 22: outputs never touch inputs, smaller items
# These run the command on an untrained model (tests/conftest.py `untrained_model`): the checks under
# test come before or after decoding, whatever the model predicts.

BRAT = ROOT / "tests" / "fixtures" / "notes_brat"


def _gold_corpus(tmp_path):
    "corpus/test/brat: a copy of the fixture notes with their gold annotations."
    import shutil
    gold = tmp_path / "corpus" / "test" / "brat"
    shutil.copytree(BRAT, gold)
    return gold


def _files(folder) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_output_where_the_input_is_is_refused_and_the_gold_kept(predict, untrained_model, tmp_path, capsys):
    "The issue's command: the BRAT output folder would have been the gold input folder."
    gold = _gold_corpus(tmp_path)
    before = _files(tmp_path / "corpus")
    argv = ["--model", str(untrained_model), "--input-format", "brat", "--input", str(gold),
            "--output-format", "brat", "--overwrite"]
    for out in (gold.parent, gold, gold / "pred"):      # contains, is, lies inside the input
        assert run(predict.main, argv + ["--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: --out ") and "the input --input" in err[0], err
    assert _files(tmp_path / "corpus") == before
    elsewhere = tmp_path / "out"                          # out/brat a link to the input: refused too
    elsewhere.mkdir()
    os.symlink(gold, elsewhere / "brat")
    assert run(predict.main, argv + ["--out", str(elsewhere)]) == 2
    assert "is the input --input" in capsys.readouterr().err and _files(tmp_path / "corpus") == before


def test_overwrite_through_a_symlinked_brat_folder_keeps_the_link_and_unrelated_files(predict, untrained_model,
                                                                                      tmp_path, capsys):
    out, shared = tmp_path / "out", tmp_path / "shared_brat"
    shared.mkdir()
    (shared / "by-hand.ann").write_text("T1\tDATE 0 4\t2091\n")
    out.mkdir()
    os.symlink(shared, out / "brat")
    argv = ["--model", str(untrained_model), "--input-format", "text", "--input", str(ROOT / "tests" / "fixtures" / "notes"),
            "--out", str(out), "--output-format", "brat", "jsonl", "--overwrite"]
    for _ in range(2):
        assert run(predict.main, argv) == 0, capsys.readouterr().err
    assert (out / "brat").is_symlink() and (shared / "by-hand.ann").read_text() == "T1\tDATE 0 4\t2091\n"
    assert sorted(p.name for p in shared.iterdir()) == ["by-hand.ann"] + [f"note{i}.{e}" for i in (1, 2, 3) for e in ("ann", "txt")]
    assert not [p for p in tmp_path.rglob("*") if ".old" in p.name or p.suffix == ".tmp"]


def test_a_csv_predicted_onto_itself_is_refused(predict, untrained_model, tmp_path, capsys):
    src = tmp_path / "in.csv"
    pd.DataFrame({"orig_text": ["Seen by Dr. Smith on 3/4/2091."]}).to_csv(src, index=False)
    before = src.read_bytes()
    for argv in (["--csv", str(src), "--out", str(src)],
                 ["--csv", str(src), "--out", str(tmp_path / "o"), "--output-format", "jsonl", "--html", str(src)],
                 ["--csv", str(src), "--out", str(untrained_model)]):
        assert run(predict.main, ["--model", str(untrained_model)] + argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "outputs never go where inputs are" in err[0], err
    assert src.read_bytes() == before


def test_no_faithful_with_documents_is_a_one_line_error(predict, untrained_model, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        predict.main(["--model", str(untrained_model), "--input-format", "text", "--input", str(ROOT / "tests" / "fixtures" / "notes"),
                      "--out", str(tmp_path / "o"), "--no-faithful"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--no-faithful: document input" in err and "Traceback" not in err


def test_text_folder_entries_that_are_not_notes_are_named(predict, untrained_model, tmp_path, capsys):
    inp = tmp_path / "notes"
    inp.mkdir()
    (inp / "a.txt").write_text("Seen by Dr. Smith on 3/4/2091.")
    (inp / "scan.pdf").write_bytes(b"%PDF")
    (inp / "2019").mkdir()
    os.symlink(tmp_path / "gone.txt", inp / "b.txt")
    assert run(predict.main, ["--model", str(untrained_model), "--input-format", "text", "--input", str(inp),
                              "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "1 dangling symbolic link(s) skipped: b.txt" in err and "1 subfolder(s)" in err and ": 2019" in err
    assert "1 file(s) without the .txt extension skipped: scan.pdf" in err


def test_ref_types_the_model_does_not_know_are_said_and_map_renames_them(predict, untrained_model, tmp_path, capsys):
    "A BRAT reference typed PER/DATE: a warning names PER; --map (a file here) makes it the model's type."
    import shutil
    gold = tmp_path / "gold"
    shutil.copytree(BRAT, gold)
    for f in gold.glob("*.ann"):
        f.write_text(f.read_text().replace("NAME:PATIENT", "PER").replace("NAME:DOCTOR", "PER"))
    base = ["--model", str(untrained_model), "--input-format", "brat", "--input", str(gold), "--ref"]
    assert run(predict.main, base + ["--out", str(tmp_path / "o1")]) == 0
    err = capsys.readouterr().err
    assert "warning: reference types the model never writes: PER (" in err
    (tmp_path / "map.json").write_text(json.dumps({"PER": "NAME:PATIENT"}))
    assert run(predict.main, base + ["--out", str(tmp_path / "o2"), "--map", str(tmp_path / "map.json")]) == 0
    err = capsys.readouterr().err
    assert "never writes" in err and "PER (" not in err   # the fixture's other types stay unknown; PER is mapped
    m = json.loads((tmp_path / "o2" / "metrics.json").read_text())
    assert "PER" not in m["per_type"] and "NAME:PATIENT" in m["per_type"]
    for f in gold.glob("*.ann"): f.write_text(f.read_text().replace("DATE", "TIME").replace("ID:MEDICALRECORD", "MRN"))
    assert run(predict.main, base + ["--out", str(tmp_path / "o3")]) == 0
    assert "warning: no reference type is one the model writes" in capsys.readouterr().err
