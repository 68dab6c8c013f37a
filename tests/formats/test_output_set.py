"""seq2seq/formats/output_set.py and writers.write_outputs: --overwrite replaces only what this tool
wrote (its manifest), the output set goes in as one step, symlinked subfolders stay (issue 22, case 1)."""
import json
import os

import pytest

from seq2seq.formats.output_set import MANIFEST, OutputSet, OutputSetError
from seq2seq.formats.writers import OutputConfig, write_outputs
from tests.formats.test_documents import FakeLearn, NOTES


@pytest.fixture
def preds():
    from seq2seq.deid.documents import predict_documents
    from seq2seq.formats.documents import read_documents
    return predict_documents(FakeLearn(), read_documents(NOTES, "text", warn=pytest.fail))


def _tree(root) -> dict:
    "Every file under `root` (through links) -> its text; hidden temporary files included."
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file()}


def test_overwrite_keeps_unrelated_files_and_removes_only_its_own_stale_ones(preds, tmp_path):
    out = tmp_path / "out"
    cfg = OutputConfig(str(out), ["brat", "jsonl"], overwrite=True)
    write_outputs(cfg, preds)
    (out / "brat" / "notes-by-hand.txt").write_text("mine")          # the user's file in our subfolder
    (out / "README").write_text("mine too")
    write_outputs(cfg, preds[:2])                                      # note3 is not predicted this time
    files = _tree(out)
    assert files["brat/notes-by-hand.txt"] == "mine" and files["README"] == "mine too"
    assert "brat/note3.ann" not in files and "brat/note1.ann" in files  # our stale output went, theirs stayed
    assert sorted(json.loads(files[MANIFEST])["files"]) == ["brat/note1.ann", "brat/note1.txt", "brat/note2.ann",
                                                           "brat/note2.txt", "predictions.jsonl"]
    assert not [f for f in files if f.endswith(".tmp")]


def test_overwrite_never_replaces_a_file_it_did_not_write(preds, tmp_path):
    out = tmp_path / "out"
    (out / "brat").mkdir(parents=True)
    (out / "brat" / "note1.ann").write_text("T1\tDATE 0 4\tgold\n")  # same name as an output, not ours
    before = _tree(out)
    with pytest.raises(OutputSetError, match=r"note1.ann was not written by this tool .* never replaced"):
        write_outputs(OutputConfig(str(out), ["brat", "jsonl"], overwrite=True), preds)
    assert _tree(out) == before                                       # nothing written at all
    # a file we wrote and someone changed since is theirs now
    write_outputs(OutputConfig(str(tmp_path / "o2"), ["jsonl"]), preds)
    (tmp_path / "o2" / "predictions.jsonl").write_text("edited by hand")
    with pytest.raises(OutputSetError, match="has changed since"):
        write_outputs(OutputConfig(str(tmp_path / "o2"), ["jsonl"], overwrite=True), preds)
    assert (tmp_path / "o2" / "predictions.jsonl").read_text() == "edited by hand"


def test_a_symlinked_subfolder_is_written_through_and_stays_a_link(preds, tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("unrelated")
    out.mkdir()
    os.symlink(elsewhere, out / "brat")
    cfg = OutputConfig(str(out), ["jsonl", "brat"], overwrite=True)
    for run in range(2):
        write_outputs(cfg, preds[run:])
    assert (out / "brat").is_symlink() and (out / "brat").resolve() == elsewhere.resolve()
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt", "note2.ann", "note2.txt", "note3.ann", "note3.txt"]
    assert not [p for p in list(out.iterdir()) + list(elsewhere.iterdir()) if ".old" in p.name or p.suffix == ".tmp"]


def test_the_output_set_goes_in_whole_or_not_at_all(preds, tmp_path, monkeypatch):
    import seq2seq.formats.output_set as os_mod
    out = tmp_path / "out"
    cfg = OutputConfig(str(out), ["jsonl", "brat", "i2b2"], overwrite=True)
    write_outputs(cfg, preds)
    before = _tree(out)
    real, calls = os.replace, []

    def flaky(a, b):  # the 7th rename of the swap fails (a full disk, a permission, Ctrl-C)
        calls.append(b)
        if len(calls) == 7 and not str(b).endswith(MANIFEST): raise OSError(28, "No space left on device")
        return real(a, b)
    monkeypatch.setattr(os_mod.os, "replace", flaky)
    preds[0].spans = preds[0].spans[:1]                                # the new run differs from the old one
    with pytest.raises(OSError, match="No space left"):
        write_outputs(cfg, preds)
    assert _tree(out) == before                                        # every old file back, no temporary left


def test_without_overwrite_any_existing_file_is_refused(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with OutputSet(tmp_path) as s:
        with pytest.raises(OutputSetError, match="a.txt: the file exists; pass --overwrite"): s.check([tmp_path / "a.txt"])
        s.write_text(tmp_path / "sub" / "b.txt", "new")
    assert not (tmp_path / "sub").exists()                             # left without commit: nothing stays
