"""seq2seq/formats/csvio.py through predict_csv: any cell survives, NUL bytes, exact headers, delimiters.

A stand-in learner echoes each source (its 'prediction' is the text itself), so these tests
exercise the CSV handling alone, fast, on arbitrary strings.
"""
import csv
from types import SimpleNamespace

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from seq2seq.deid.predict_csv import predict_csv
from seq2seq.errors import DataError


def _echo():
    "A learner whose restore gives every text back unchanged (n_best=1, with scores)."
    return SimpleNamespace(meta={"src": "orig_text", "task": "restore"},
                           restore=lambda texts, cfg=None, with_scores=True, **kw: [[("" if t is None or t != t else t, 0.0)]
                                                                          for t in texts])


def _write(path, header, rows, sep=","):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=sep, quoting=csv.QUOTE_ALL)
        w.writerow(header)
        w.writerows(rows)
    return path


def _read(path, sep=","):
    with open(path, newline="", encoding="utf-8") as f: return list(csv.reader(f, delimiter=sep))


_CELL = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20) | \
    st.text(st.sampled_from(list('ab \r\n",;\t|\'{}x')), max_size=12)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_CELL, _CELL), min_size=1, max_size=6), st.sampled_from([",", ";", "\t"]))
def test_any_cell_reads_back_exactly(tmp_path_factory, rows, sep):
    tmp = tmp_path_factory.mktemp("rt")
    src = _write(tmp / "in.csv", ["orig_text", "note"], rows, sep)
    out = tmp / "out.csv"
    predict_csv(_echo(), src, out, log=lambda *a: None, sep=sep)
    got = _read(out, sep)
    assert got[0] == ["orig_text", "note", "prediction"]
    assert [r[:2] for r in got[1:]] == [list(r) for r in rows]  # same rows, same cells, in order
    assert [r[2] for r in got[1:]] == [r[0] for r in rows]
    back = pd.read_csv(out, sep=sep, dtype=str, keep_default_na=False)  # pandas agrees
    assert back.values.tolist() == [[a, b, a] for a, b in rows]


def test_a_lone_cr_stays_in_its_cell(tmp_path):
    rows = [[f"row {i}", "Seen by Dr. Smith\ron 3/4/2091."] for i in range(28)]
    src = _write(tmp_path / "in.csv", ["id", "orig_text"], rows)
    predict_csv(_echo(), src, tmp_path / "out.csv", log=lambda *a: None)
    back = pd.read_csv(tmp_path / "out.csv", dtype=str)
    assert len(back) == 28 and (back.prediction == "Seen by Dr. Smith\ron 3/4/2091.").all()


def test_a_nul_byte_is_reported_with_its_row_and_column(tmp_path):
    src = _write(tmp_path / "in.csv", ["id", "orig_text"], [["1", "fine"], ["2", "Dr. Smith\x00 on 3/4"]])
    out = tmp_path / "out.csv"
    with pytest.raises(DataError, match=r"row 2, column 'orig_text': a NUL byte \(\\x00\) at char 9"):
        predict_csv(_echo(), src, out, log=lambda *a: None)
    assert not out.exists()


@pytest.mark.parametrize("header, kwargs, match", [
    (["orig_text", "x", "x"], {}, "duplicate column name(s) 'x'"),
    (["orig_text", "prediction"], {}, "already has a column 'prediction'; give another --pred-col or --overwrite-column"),
    (["orig_text", "p_nbest"], dict(pred_col="p", n_best=2), "already has a column 'p_nbest'"),
    (["orig_text", "gold"], dict(pred_col="gold", ref="gold"), "is the source or reference column")])
def test_columns_are_never_silently_changed(tmp_path, header, kwargs, match):
    src = _write(tmp_path / "in.csv", header, [["a"] * len(header)])
    with pytest.raises(DataError, match=match.replace("(", r"\(").replace(")", r"\)")):
        predict_csv(_echo(), src, tmp_path / "out.csv", log=lambda *a: None, **kwargs)
    assert not (tmp_path / "out.csv").exists()


def test_overwrite_column_and_exact_headers(tmp_path):
    header = [" id ", "orig_text", "prediction", "", "Unnamed: 9", "a.1"]
    src = _write(tmp_path / "in.csv", header, [["1", "text", "old", "e", "u", "z"]])
    predict_csv(_echo(), src, tmp_path / "out.csv", log=lambda *a: None, overwrite_column=True)
    got = _read(tmp_path / "out.csv")
    assert got == [header, ["1", "text", "text", "e", "u", "z"]]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_the_delimiter_is_detected_and_kept(tmp_path, sep):
    src = tmp_path / "in.csv"
    cell = "a, b" if sep == ";" else "a, b; c"  # other delimiters inside the text do not mislead it
    src.write_text(f"id{sep}orig_text\n1{sep}{cell}\n", encoding="utf-8")
    predict_csv(_echo(), src, tmp_path / "out.csv", log=lambda *a: None)
    assert _read(tmp_path / "out.csv", sep) == [["id", "orig_text", "prediction"], ["1", cell, cell]]


def test_a_missing_column_names_the_delimiter(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id;text\n1;a\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"no column 'orig_text'; the file has 'id;text' \(read with comma as the "
                                        r"delimiter, also tried semicolon, tab, pipe; give --sep or --src\)"):
        predict_csv(_echo(), src, tmp_path / "out.csv", log=lambda *a: None)
    predict_csv(_echo(), src, tmp_path / "out.csv", log=lambda *a: None, src="text")  # detected with --src
    assert _read(tmp_path / "out.csv", ";")[1] == ["1", "a", "a"]


def test_training_data_with_a_nul_byte_names_the_row(tmp_path):
    from seq2seq.data.pairs import read_pairs
    src = _write(tmp_path / "pairs.csv", ["orig_text", "annotated_text"], [["a", "a"], ["b\x00c", "b\x00c"]])
    with pytest.raises(DataError, match="row 2, column 'orig_text': a NUL byte"):
        read_pairs(src)
