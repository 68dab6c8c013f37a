"""scripts/train.py: bad input fails with one clear line and no model; tiny runs write every file."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seq2seq.commands.cli import run

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--emb-size", "8", "--hidden", "8", "--layers", "1", "--epochs", "1", "--bs", "8"]
OPTIONS = ("--csv", "--src", "--tgt", "--lang", "--vectors", "--epochs", "--lr", "--bs", "--emb-size",
           "--hidden", "--layers", "--seed", "--out", "--valid-pct")


@pytest.fixture(scope="module")
def train_main():
    spec = importlib.util.spec_from_file_location("train_script_under_test", ROOT / "scripts" / "train.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> Path:
    "40 sample rows; rows 5 and 9 lack a source, row 20 a target."
    df = pd.read_csv(ROOT / "data" / "sample.csv").iloc[300:340].reset_index(drop=True)
    df.loc[[5, 9], "orig_text"] = None
    df.loc[20, "annotated_text"] = None
    path = tmp_path_factory.mktemp("pairs") / "pairs.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def vectors(pairs) -> Path:
    """A small 8-dimensional .vec file of our own for the words of `pairs`. The runs that train use it:
    fastText trained on 37 sentences now and then stops with "Encountered NaN" (see the report)."""
    rng = np.random.default_rng(0)
    words = sorted(set(pd.read_csv(pairs).orig_text.dropna().str.cat(sep=" ").split()))
    lines = [f"{w} " + " ".join(f"{x:.4f}" for x in rng.normal(0, .3, 8)) for w in words]
    path = pairs.parent / "tiny.vec"
    path.write_text(f"{len(lines)} 8\n" + "\n".join(lines) + "\n")
    return path


def _fails(train_main, argv, out: Path, capsys, match: str):
    "One `error: ...` line naming the problem, exit code 2, no model written."
    assert run(train_main, ["--out", str(out)] + TINY + argv) == 2  # argv last: its options win
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and match in err[0], err
    assert not (out / "export.pkl").exists()


def test_bad_csv_files(train_main, pairs, tmp_path, capsys):
    df = pd.read_csv(pairs)
    renamed = tmp_path / "renamed.csv"
    df.rename(columns={"orig_text": "original"}).to_csv(renamed, index=False)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("orig_text,annotated_text\nCaf\xe9,{{NAME}}Caf\xe9{{/NAME}}\n".encode("latin-1"))
    bad_tags = tmp_path / "tags.csv"
    df.loc[6, "annotated_text"] = "Seen on {{DATE}}Feb 24."  # unclosed, in data row 7
    df.to_csv(bad_tags, index=False)
    out = tmp_path / "out"
    cases = [(pairs, ["--src", "text"], "missing column(s) 'text'"),
             (renamed, [], "missing column(s) 'orig_text'"),
             (empty, [], "the file is empty"),
             (latin, [], "not UTF-8"),
             (tmp_path / "none.csv", [], "no such file"),
             (bad_tags, [], "column 'annotated_text', row 7: unclosed {{DATE}}")]
    for csv, extra, match in cases:
        _fails(train_main, ["--csv", str(csv)] + extra, out, capsys, match)


def test_bad_vectors(train_main, pairs, tmp_path, capsys):
    junk_bin, junk_vec = tmp_path / "junk.bin", tmp_path / "junk.vec"
    junk_bin.write_bytes(os.urandom(512))
    junk_vec.write_text("hello world\nfoo bar\n")
    for vec, match in [(junk_bin, "not a fastText"), (junk_vec, "not a fastText"),
                       (tmp_path / "none.bin", "does not exist")]:
        _fails(train_main, ["--csv", str(pairs), "--arch", "seed", "--vectors", str(vec)], tmp_path / "out", capsys, match)


def test_vectors_of_another_dimension(train_main, pairs, vectors, tmp_path, capsys):
    _fails(train_main, ["--csv", str(pairs), "--arch", "seed", "--vectors", str(vectors), "--emb-size", "16"], tmp_path / "out",
           capsys, "has dimension 8 but emb_size=16")


def test_the_script_prints_only_its_error_line(pairs, tmp_path):
    "As a command, with the interpreter's own warning filters (pytest's hide what users would see)."
    junk = tmp_path / "junk.vec"
    junk.write_text("not vectors\n")
    argv = ["--csv", str(pairs), "--arch", "seed", "--vectors", str(junk), "--out", str(tmp_path / "out")] + TINY
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "train.py")] + argv, capture_output=True, text=True,
                       timeout=120, env=env)  # PYTHONPATH: the package need not be installed
    assert r.returncode == 2
    assert r.stderr.splitlines() == [f"error: vectors file {junk} is not a fastText .bin or .vec file: "
                                     "first line should be \"<words> <dimension>\", got 'not vectors\\n'"]


def test_unwritable_out(train_main, pairs, tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    _fails(train_main, ["--csv", str(pairs)], a_file / "model", capsys, "not writable")
    assert a_file.read_text() == "x"


def test_help_names_every_option(train_main, capsys):
    with pytest.raises(SystemExit) as e:
        train_main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for opt in OPTIONS: assert opt in text, opt


@pytest.mark.parametrize("argv, match", [(["--epochs", "0"], "--epochs must be >= 1"),
                                         (["--valid-pct", "1.5"], "--valid-pct must be between 0 and 1"),
                                         (["--lr", "-1"], "--lr must be > 0")])
def test_bad_options(train_main, argv, match, capsys):
    with pytest.raises(SystemExit) as e:
        train_main(argv)
    assert e.value.code == 2
    assert match in capsys.readouterr().err.strip().splitlines()[-1]


def _metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


def test_nan_cells_are_skipped_and_counted(train_main, pairs, vectors, tmp_path, capsys):
    out = tmp_path / "model"
    argv = ["--csv", str(pairs), "--arch", "seed", "--vectors", str(vectors), "--out", str(out), "--lr", "1e-2",
            "--augment", "1"]
    assert run(train_main, argv + TINY) == 0
    log = capsys.readouterr().out
    assert "skipped 3 row(s)" in log and "model written to" in log
    m = _metrics(out)
    assert m["train_size"] - m["augmented_size"] + m["valid_size"] == 37 and m["lr"] == 1e-2
    assert m["augmented_size"] > 0 and f"({m['augmented_size']} of them swapped copies" in log
    assert (out / "export.pkl").is_file() and not (out / "lr_find.png").exists()


def test_a_run_with_lr_find_writes_every_file(train_main, pairs, vectors, tmp_path, capsys):
    out = tmp_path / "model"
    argv = ["--csv", str(pairs), "--arch", "seed", "--vectors", str(vectors), "--out", str(out), "--seed", "1"]  # no --lr: lr_find
    assert run(train_main, argv + TINY) == 0
    log = capsys.readouterr().out
    assert "lr_find suggests" in log and "found" in log  # the coverage of --vectors
    for name in ("export.pkl", "history.csv", "metrics.json", "losses.png", "lr_find.png", "valid.csv", "MODEL_CARD.md"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    for png in ("losses.png", "lr_find.png"): assert (out / png).read_bytes()[:4] == b"\x89PNG"
    m = _metrics(out)
    assert {"valid_loss", "token_acc", "bleu", "chrf"} <= set(m) and 0 < m["lr"] <= 1e-2
    assert len(pd.read_csv(out / "history.csv")) == 1
    valid = pd.read_csv(out / "valid.csv")
    assert list(valid.columns) == ["orig_text", "annotated_text"] and len(valid) == m["valid_size"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left
    from seq2seq.training.learner import load_seq2seq
    from seq2seq.text.tags import is_open, marker_type, strip_tags
    assert strip_tags(load_seq2seq(out).predict("Seen on Feb 24.")) == "Seen on Feb 24."
    card = (out / "MODEL_CARD.md").read_text()
    types = [marker_type(t) for t in load_seq2seq(out).data.y.vocab.itos if is_open(t)]
    assert types and all(f"| {t} |" in card for t in types)
    assert f"| {m['token_acc']:.4f} |" in card and "--arch seed" in card and pairs.name in card
    assert "Intended use and limits" in card and "model.safetensors" in card


def test_a_failed_run_removes_the_out_folder_it_created(train_main, pairs, tmp_path, capsys):
    df = pd.read_csv(pairs)
    df.loc[3, "annotated_text"] = "{{NAME}}Smyth{{/NAME}}"  # disagrees with its source
    bad = tmp_path / "bad.csv"
    df.to_csv(bad, index=False)
    out = tmp_path / "new" / "model"
    _fails(train_main, ["--csv", str(bad)], out, capsys, "row 4 at char 0")
    assert not out.exists() and (tmp_path / "new").is_dir()  # only what this run created goes
    kept = tmp_path / "kept"
    kept.mkdir()
    _fails(train_main, ["--csv", str(bad)], kept, capsys, "--skip-bad-rows")
    assert kept.is_dir()  # a folder that was there stays


def test_default_batch_size_follows_the_data_size():
    from seq2seq.training.config import TrainConfig, auto_bs
    assert TrainConfig().bs is None
    assert [auto_bs(n) for n in (10, 1600, 2430, 4000, 6400, 14760, 10 ** 6)] == [16, 16, 16, 32, 64, 128, 128]


def test_validation_rows_are_capped():
    from seq2seq.training.config import TrainConfig, valid_share
    cfg = TrainConfig()
    assert (cfg.valid_pct, cfg.valid_max) == (0.1, 1000)
    assert valid_share(cfg, 500) == 0.1 and valid_share(cfg, 10_000) == 0.1   # 50 and 1,000 rows
    assert valid_share(cfg, 16_399) * 16_399 == pytest.approx(1000)           # MEDDOCAN: 1,000, not 1,640
    assert valid_share(TrainConfig(valid_max=0), 16_399) == 0.1                # 0: no cap
    assert valid_share(TrainConfig(valid_pct=0.2, valid_max=50), 1000) == 0.05
    with pytest.raises(ValueError, match="valid.max"): TrainConfig(valid_max=-1)


def _curve(noisy_start: bool):
    "An lr_find-like curve: 60 rates from 1e-7 to 10, loss falling fastest near 3e-3, lowest at 5e-2."
    lrs = np.logspace(-7, 1, 60)
    x = np.log10(lrs)
    loss = 2.5 - 0.9 / (1 + np.exp(-(x + 2.5) * 3)) + np.where(x > np.log10(5e-2), (x - np.log10(5e-2)) * 3, 0)
    if noisy_start: loss[10:13] += [0.0, 0.3, -0.1]  # a jump among the first points, as seen on MEDDOCAN
    return lrs, loss


def test_lr_pick_ignores_a_noisy_start():
    from seq2seq.training.job import pick_lr
    lrs, loss = _curve(False)
    clean = pick_lr(lrs, loss)
    assert 1e-3 < clean < 1e-2
    assert pick_lr(*_curve(True)) == pytest.approx(clean)               # fastai's steepest point: 1e-6
    assert np.gradient(_curve(True)[1][10:-5]).argmin() < 5
    assert pick_lr(lrs, loss, hi=1e-3) == 1e-3 and pick_lr(lrs, loss, lo=5e-3) == 5e-3
    assert pick_lr(lrs[:8], loss[:8]) == 3e-3                           # too short a curve: a fixed rate


def test_an_out_folder_holding_the_training_csv_is_refused(train_main, pairs, tmp_path, capsys):
    "Training writes valid.csv and the rest into --out: never where its --csv is (issue 22, case 1)."
    import shutil
    data = tmp_path / "data"
    data.mkdir()
    csv = Path(shutil.copy(pairs, data / "valid.csv"))
    before = csv.read_bytes()
    _fails(train_main, ["--csv", str(csv)], data, capsys, "contains the input --csv")
    _fails(train_main, ["--csv", str(csv), "--out", str(csv)], csv, capsys, "is the input --csv")
    assert csv.read_bytes() == before and sorted(p.name for p in data.iterdir()) == ["valid.csv"]
