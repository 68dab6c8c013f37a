"""seq2seq/weak/job.py and the seq2seq-weak-label command: a NUL byte named by row and column, a
function's sys.exit neither ends the run silently nor loses the output, outputs never replace
inputs (issue 22, cases 1 and 3)."""
import pandas as pd
import pytest

from seq2seq.commands.cli import run
from seq2seq.commands.weak_label import main

LFS = '''
import sys
from seq2seq.weak import labelling_function

@labelling_function()
def year(text):
    i = text.find("2091")
    return [(i, i + 4, "DATE")] if i >= 0 else []

@labelling_function()
def quits(text):
    if "stop" in text: sys.exit(0)
    return []
'''


@pytest.fixture
def lf_file(tmp_path):
    f = tmp_path / "lfs.py"
    f.write_text(LFS)
    return f


def _csv(tmp_path, texts):
    path = tmp_path / "in.csv"
    pd.DataFrame({"orig_text": texts, "id": range(len(texts))}).to_csv(path, index=False)
    return path


def test_a_nul_byte_is_named_by_row_and_column(tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,orig_text\n1,Seen in 2091.\n2,Seen\x00 by Dr. Smith in 2091.\n")
    assert run(main, ["--csv", str(path), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {path}: row 2, column 'orig_text': a NUL byte (\\x00) at char 4; remove it "
                   "(it would cut the cell short)"]
    assert not (tmp_path / "o.csv").exists()


def test_a_function_calling_sys_exit_is_named_and_the_output_written(tmp_path, lf_file, capsys):
    path, out = _csv(tmp_path, ["Seen in 2091.", "stop here, 2091", "Nothing."]), tmp_path / "silver.csv"
    assert run(main, ["--csv", str(path), "--out", str(out), "--builtin", "none", "--lf", str(lf_file),
                      "--label-model", "vote"]) == 0
    printed = capsys.readouterr().out
    assert "labelling function 'quits', row 2: SystemExit: 0 (skipped)" in printed
    assert "warning: labelling function 'quits' failed on 1 of 3 rows (SystemExit: 0)" in printed
    silver = pd.read_csv(out, keep_default_na=False)
    assert len(silver) == 3 and "{{DATE}}2091{{/DATE}}" in silver.annotated_text[1]
    assert pd.read_csv(f"{out}.report.csv", index_col=0).loc["quits", "errors"] == 1


def test_when_every_function_fails_everywhere_the_run_stops_non_zero(tmp_path, lf_file, capsys):
    only_quits = tmp_path / "q.py"
    only_quits.write_text(LFS.replace("@labelling_function()\ndef year", "def year"))
    path, out = _csv(tmp_path, ["stop 1", "stop 2"]), tmp_path / "silver.csv"
    assert run(main, ["--csv", str(path), "--out", str(out), "--builtin", "none", "--lf", str(only_quits)]) == 2
    assert "every labelling function failed on every row (first: 'quits': SystemExit: 0); nothing written" in \
        capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("which", ["csv", "lf"])
def test_an_output_onto_an_input_is_refused(tmp_path, lf_file, capsys, which):
    path = _csv(tmp_path, ["Seen in 2091."])
    out = {"csv": path, "lf": lf_file}[which]
    before = path.read_bytes(), lf_file.read_bytes()
    code = run(main, ["--csv", str(path), "--out", str(out), "--builtin", "none", "--lf", str(lf_file)])
    assert code == 2 and "outputs never go where inputs are" in capsys.readouterr().err
    assert (path.read_bytes(), lf_file.read_bytes()) == before


def test_gazetteers_from_a_csv_never_go_into_its_folder(tmp_path, capsys):
    path = tmp_path / "gold" / "gold.csv"
    path.parent.mkdir()
    pd.DataFrame({"annotated_text": ["{{DATE}}2091{{/DATE}}"]}).to_csv(path, index=False)
    assert run(main, ["--gazetteers-from", str(path), "--gazetteer-out", str(tmp_path / "gold")]) == 2
    assert "contains the input --gazetteers-from" in capsys.readouterr().err
