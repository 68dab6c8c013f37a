"""seq2seq/formats/paths.py: an output that is, holds or lies inside an input is refused (issue 22, case 1)."""
import os

import pytest

from seq2seq.formats.paths import PathClashError, check_apart, clash


def test_the_three_ways_an_output_touches_an_input(tmp_path):
    (tmp_path / "corpus" / "brat").mkdir(parents=True)
    (tmp_path / "in.csv").write_text("x")
    assert clash(tmp_path / "corpus" / "brat", tmp_path / "corpus" / "brat") == "is"
    assert clash(tmp_path / "corpus" / "brat" / "out", tmp_path / "corpus" / "brat") == "lies inside"
    assert clash(tmp_path / "corpus", tmp_path / "corpus" / "brat") == "contains"
    assert clash(tmp_path / "in.csv", tmp_path / "in.csv") == "is"
    assert clash(tmp_path / "out.csv", tmp_path / "in.csv") is None
    assert clash(tmp_path / "corpus2", tmp_path / "corpus") is None   # a name that merely starts the same


def test_links_are_followed(tmp_path):
    (tmp_path / "gold").mkdir()
    (tmp_path / "gold" / "a.ann").write_text("T1\tDATE 0 4\t2091\n")
    (tmp_path / "out").mkdir()
    os.symlink(tmp_path / "gold", tmp_path / "out" / "brat")               # out/brat is the input, by a link
    os.link(tmp_path / "gold" / "a.ann", tmp_path / "hard.ann")            # the same file under another name
    assert clash(tmp_path / "out" / "brat", tmp_path / "gold") == "is"
    assert clash(tmp_path / "hard.ann", tmp_path / "gold" / "a.ann") == "is"
    with pytest.raises(PathClashError, match=r"--out .*out/brat \(= .*gold\) is the input --input .*gold"):
        check_apart([("--out", tmp_path / "out"), ("--out", tmp_path / "out" / "brat")], [("--input", tmp_path / "gold")])


def test_check_apart_names_both_flags_and_skips_what_is_not_given(tmp_path):
    with pytest.raises(PathClashError, match=r"^--out .*corpus contains the input --csv .*corpus/in.csv: outputs never"):
        check_apart([("--out", tmp_path / "corpus")], [("--model", None), ("--csv", tmp_path / "corpus" / "in.csv")])
    check_apart([("--out", tmp_path / "a.csv"), ("--html", None)], [("--csv", tmp_path / "b.csv"), ("--vectors", None)])
