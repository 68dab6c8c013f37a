"""scripts/predict.py on documents: text/brat/CSV input, every output format, redaction, review page, bad input."""
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from seq2seq.formats.output_set import MANIFEST
from seq2seq.formats.readers import read_brat
from seq2seq.text.tags import parse
from tests.commands.test_predict import _script

ROOT = Path(__file__).resolve().parents[2]
NOTES = ROOT / "tests" / "fixtures" / "notes"


@pytest.fixture(scope="module")
def predict():
    return _script("scripts/predict.py")


def _run(predict, capsys, argv):
    "main() through cli.run: exit code and the lines printed to stderr."
    from seq2seq.commands.cli import run
    code = run(predict.main, argv)
    return code, capsys.readouterr().err.strip().splitlines()


def test_notes_to_every_format_redacted_with_a_review_page(predict, tiny_model, tmp_path, capsys):
    out, page = tmp_path / "out", tmp_path / "review.html"
    code, err = _run(predict, capsys, ["--model", str(tiny_model), "--input-format", "text", "--input", str(NOTES),
                                       "--out", str(out), "--output-format", "jsonl", "brat", "i2b2", "csv",
                                       "--redact", "mask", "--html", str(page), "--temperature", "2", "--seed", "1"])
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [".seq2seq-manifest.json", "brat", "i2b2", "predictions.csv",
                                                    "predictions.jsonl", "redacted"]
    recs = [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    n = 0
    for r in recs:
        original = (NOTES / f"{r['id']}.txt").read_bytes().decode("utf-8")
        assert r["text"] == original and len(r["redacted"]) == len(original)
        assert (out / "redacted" / f"{r['id']}.txt").read_bytes().decode("utf-8") == r["redacted"]
        for sp in r["spans"]:
            assert original[sp["start"]:sp["end"]] == sp["text"] and set(r["redacted"][sp["start"]:sp["end"]]) <= set("*\r\n")
            n += 1
    assert n > 0 and page.read_text(encoding="utf-8").count('<mark class="span pred') == n
    assert {i: [tuple(s) for s in sp] for i, _, sp in read_brat(out / "brat")} == \
        {r["id"]: [(s["start"], s["end"], s["type"]) for s in r["spans"]] for r in recs}


def test_brat_input_scored_against_its_annotations(predict, tiny_model, tmp_path, capsys):
    out = tmp_path / "out"
    code, err = _run(predict, capsys, ["--model", str(tiny_model), "--input-format", "brat", "--input",
                                       str(ROOT / "tests" / "fixtures" / "convert" / "brat"), "--ref", "--out", str(out),
                                       "--output-format", "jsonl", "--min-score", "0.5"])
    assert code == 0, err
    m = json.loads((out / "metrics.json").read_text())
    assert {"precision", "recall", "f1", "per_type"} <= set(m)
    recs = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert all(s["score"] >= 0.5 for r in recs for s in r["spans"])


def test_csv_rows_as_documents_with_redaction(predict, tiny_model, tmp_path, capsys):
    src = tmp_path / "in.csv"
    pd.read_csv(ROOT / "data" / "sample.csv").iloc[300:320].to_csv(src, index=False)
    out = tmp_path / "pred.csv"
    code, err = _run(predict, capsys, ["--model", str(tiny_model), "--csv", str(src), "--out", str(out),
                                       "--redact", "type", "--ref", "annotated_text"])
    assert code == 0, err
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(df.columns[:2]) == ["orig_text", "annotated_text"] and {"prediction", "redacted", "spans"} <= set(df.columns)
    for o, p, r in zip(df.orig_text, df.prediction, df.redacted):
        assert parse(p)[0] == o and ("[" in r) == ("{{" in p)
    assert (tmp_path / "pred.metrics.json").is_file()


@pytest.mark.parametrize("setup, argv, match", [
    ("empty_folder", ["--input-format", "text"], "holds no .txt file"),
    ("bad_bytes", ["--input-format", "text"], "no document could be read"),
    ("brat_taken", ["--input-format", "text", "--output-format", "brat"], "pass --overwrite"),
])
def test_bad_input_is_one_line_and_writes_nothing(predict, tiny_model, tmp_path, capsys, setup, argv, match):
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    if setup == "bad_bytes": (inp / "a.txt").write_bytes(b"caf\xe9 \xff")
    if setup == "brat_taken":
        (inp / "a.txt").write_text("Seen by Dr. Smith.")
        (out / "brat").mkdir(parents=True)
        (out / "brat" / "mine.ann").write_text("")
    code, err = _run(predict, capsys, ["--model", str(tiny_model), "--input", str(inp), "--out", str(out)] + argv)
    assert code == 2 and match in err[-1] and err[-1].startswith("error: ")
    assert not out.exists() or sorted(p.name for p in out.rglob("*")) == ["brat", "mine.ann"]


def test_a_bad_file_among_good_ones_is_named_and_the_rest_done(predict, tiny_model, tmp_path, capsys):
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    (inp / "a.txt").write_text("Seen by Dr. Smith on 3/4/2091.")
    (inp / "b.txt").write_bytes(b"caf\xe9")
    from seq2seq.commands.cli import run
    code = run(predict.main, ["--model", str(tiny_model), "--input-format", "text", "--input", str(inp), "--out", str(out)])
    printed = capsys.readouterr().err
    assert code == 0 and f"warning: {inp / 'b.txt'}: not UTF-8" in printed
    assert [json.loads(x)["id"] for x in (out / "predictions.jsonl").read_text().splitlines()] == ["a"]


def test_unknown_format_names(predict, tmp_path, capsys):
    for argv in (["--input-format", "docx"], ["--output-format", "xml"], ["--redact", "blur"]):
        with pytest.raises(SystemExit) as e:
            predict.main(["--model", "m.pkl", "--input", str(NOTES), "--out", str(tmp_path / "o")] + argv)
        assert e.value.code == 2 and "invalid choice" in capsys.readouterr().err


# ---------------------------------------------------------------- redaction through the whole command

def _records(out):
    return [json.loads(x) for x in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]


def test_redacted_files_replacements_bom_and_a_key_that_never_shows(predict, tiny_model, tmp_path, capsys):
    inp, out, key = tmp_path / "in", tmp_path / "out", tmp_path / "secret.key"
    inp.mkdir()
    key.write_text("my-own-secret-key-material-1234\n")
    for f in NOTES.glob("*.txt"):
        (inp / f.name).write_bytes(f.read_bytes())
        (inp / f"bom_{f.name}").write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    code, err = _run(predict, capsys, ["--model", str(tiny_model), "--input-format", "text", "--input", str(inp),
                                       "--out", str(out), "--redact", "surrogate", "--key-file", str(key), "--lang", "es",
                                       "--temperature", "2", "--seed", "1"])
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir() if p.name != MANIFEST) == ["predictions.jsonl", "redacted"]   # jsonl only, yet the files
    recs = {r["id"]: r for r in _records(out)}
    for name, r in recs.items():
        red = (out / "redacted" / f"{name}.txt").read_bytes().decode("utf-8")
        assert red == r["redacted"] and (red.startswith("\ufeff") == name.startswith("bom_"))
        pos, parts = 0, []
        for s in r["spans"]:                         # the audit trail: the original outside, the replacements inside
            parts += [r["text"][pos:s["start"]], s["replacement"]]
            pos = s["end"]
        assert "".join(parts) + r["text"][pos:] == red
    for f in NOTES.glob("*.txt"):
        a, b = recs[f.stem], recs[f"bom_{f.stem}"]
        assert [(s["start"] + 1, s["end"] + 1, s["text"]) for s in a["spans"]] == [(s["start"], s["end"], s["text"]) for s in b["spans"]]
    assert sum(len(r["spans"]) for r in recs.values()) > 0
    everything = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file()) + "".join(err)
    assert "my-own-secret" not in everything


def test_encrypt_round_trips_through_reidentify(predict, tiny_model, tmp_path, capsys):
    out, key = tmp_path / "out", tmp_path / "k"
    key.write_bytes(b"0123456789abcdef0123456789abcdef")
    code, err = _run(predict, capsys, ["--model", str(tiny_model), "--input-format", "text", "--input", str(NOTES),
                                       "--out", str(out), "--redact", "encrypt", "--key-file", str(key),
                                       "--temperature", "2", "--seed", "1"])
    assert code == 0, err
    assert any("[ENC:" in p.read_text(encoding="utf-8") for p in (out / "redacted").iterdir())
    from seq2seq.commands.cli import run
    from seq2seq.commands.reidentify import main
    assert run(main, ["--key-file", str(key), "--input", str(out / "redacted"), "--out", str(tmp_path / "back")]) == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "back").iterdir()} == {p.name: p.read_bytes() for p in NOTES.glob("*.txt")}


@pytest.mark.parametrize("policy, argv, match", [
    ("DATE: surrogate\nNOT:ATYPE: mask\n", [], r"p\.yaml:2: unknown type 'NOT:ATYPE'"),
    ("DATE: blur\n", [], r"p\.yaml:1: unknown operator 'blur'"),
    ("NAME: hash\n", [], r"--redact-policy hash needs --key-file"),
    (None, ["--redact", "hash"], r"--redact hash needs --key-file"),
    (None, ["--redact", "mask", "--key-file", "/nonexistent.key"], r"--key-file /nonexistent\.key: no such file")])
def test_policy_and_key_errors_are_one_line(predict, tiny_model, tmp_path, capsys, policy, argv, match):
    if policy is not None:
        (tmp_path / "p.yaml").write_text(policy)
        argv = argv + ["--redact-policy", str(tmp_path / "p.yaml")]
    try: code, err = _run(predict, capsys, ["--model", str(tiny_model), "--input-format", "text", "--input", str(NOTES),
                                            "--out", str(tmp_path / "out")] + argv)
    except SystemExit as e:     # an option error: argparse's usage and one line
        code, err = e.code, capsys.readouterr().err.strip().splitlines()
    assert code == 2 and re.search(match, err[-1]), err
    assert not (tmp_path / "out").exists()


def test_a_policy_file_applies_per_type(predict, tiny_model, tmp_path, capsys):
    (tmp_path / "p.yaml").write_text("default: type\nDATE: keep\n")
    code, err = _run(predict, capsys, ["--model", str(tiny_model), "--input-format", "text", "--input", str(NOTES),
                                       "--out", str(tmp_path / "out"), "--redact-policy", str(tmp_path / "p.yaml"),
                                       "--temperature", "2", "--seed", "1"])
    assert code == 0, err
    spans = [s for r in _records(tmp_path / "out") for s in r["spans"]]
    assert spans and all(s["replacement"] == (s["text"] if s["type"] == "DATE" else f"[{s['type']}]") for s in spans)
