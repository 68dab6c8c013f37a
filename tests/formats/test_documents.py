"""seq2seq/formats/documents.py and writers.py: reading notes, exact document offsets, standard outputs, round trips."""
import json
import re
from pathlib import Path

import pytest

from seq2seq.deid.documents import DocumentPrediction, predict_documents, sentence_offsets
from seq2seq.formats.documents import Document, DocumentError, read_documents
from seq2seq.formats.readers import read_brat, read_i2b2
from seq2seq.formats.writers import OutputConfig, OutputError, check_outputs, write_outputs
from seq2seq.text.tags import ScoredSpan

ROOT = Path(__file__).resolve().parents[2]
NOTES = ROOT / "tests" / "fixtures" / "notes"
# what the fake model tags: capitalised words (a name), dates, digit runs (an id)
_RULES = [(re.compile(r"\d{1,2}/\d{1,2}/\d{4}"), "DATE", 0.9), (re.compile(r"\b[A-Z][a-z]+\b"), "NAME:PATIENT", 0.6),
          (re.compile(r"(?<![/\d])\d{5,}(?![/\d])"), "ID:MEDICALRECORD", 0.3)]


def fake_spans(text: str) -> list:
    "The spans the fake model finds in `text` (rules never overlap on the fixtures)."
    return sorted(ScoredSpan(m.start(), m.end(), t, sc) for rx, t, sc in _RULES for m in rx.finditer(text))


class FakeLearn:
    "Just what predict_documents uses of a Learner: model.meta and restore(with_spans=True); records its calls."

    def __init__(self):
        self.model = type("M", (), {"meta": {"lang": "en", "src": "orig_text", "task": "restore"}})()
        self.meta, self.calls = self.model.meta, []

    def restore(self, texts, cfg=None, with_spans=False, **kw):
        assert with_spans
        self.calls.append(list(texts))
        return [("", fake_spans(t)) for t in texts]


@pytest.fixture
def docs():
    return read_documents(NOTES, "text", warn=pytest.fail)


@pytest.fixture
def preds(docs):
    return predict_documents(FakeLearn(), docs)


def test_fixture_notes_hold_crlf_tabs_and_blank_lines():
    raw = b"".join(f.read_bytes() for f in sorted(NOTES.glob("*.txt")))
    assert b"\r\n\r\n" in raw and b"\n\n" in raw and b"\t" in raw and b"  \n" in raw


def test_read_text_folder_keeps_every_byte(docs):
    assert [d.doc_id for d in docs] == ["note1", "note2", "note3"]
    for d in docs:
        assert d.text.encode("utf-8") == (NOTES / f"{d.doc_id}.txt").read_bytes() and d.ref is None


def test_sentence_offsets_slice_the_text_and_cover_it(docs):
    for d in docs:
        offs = sentence_offsets(d.text)
        assert len(offs) >= 3
        assert all(a < b <= c for (a, b), (c, _) in zip(offs, offs[1:]))     # in order, never overlapping
        covered = set().union(*(range(a, b) for a, b in offs))
        assert all(i in covered for i, ch in enumerate(d.text) if not ch.isspace())
        assert all(d.text[a:b] == d.text[a:b].strip() for a, b in offs)


def test_document_offsets_are_exact_and_batched_across_documents(docs):
    learn = FakeLearn()
    preds = predict_documents(learn, docs)
    assert len(learn.calls) == 1 and len(learn.calls[0]) == sum(len(p.sentences) for p in preds)
    for p in preds:
        # sentences never cut a word or a date, so the fake finds the same spans in the whole text
        assert [(s.start, s.end, s.type) for s in p.spans] == [(s.start, s.end, s.type) for s in fake_spans(p.doc.text)]
        assert len(p.spans) >= 3


def test_chunks_of_documents_give_the_same_spans(docs, preds):
    learn = FakeLearn()
    chunked = predict_documents(learn, docs, chunk_sentences=4)
    assert len(learn.calls) == 3 and [p.spans for p in chunked] == [p.spans for p in preds]


def test_sentences_with_braces_are_left_alone_and_counted():
    warned = []
    p = predict_documents(FakeLearn(), [Document("b", "Seen by Smith.\nA {{DATE}} Jones here.")], warn=warned.append)[0]
    assert [(s.start, s.end) for s in p.spans] == [(0, 4), (8, 13)] and "1 sentence(s) holding" in warned[0]


def test_min_score_drops_low_spans(docs):
    preds = predict_documents(FakeLearn(), docs, min_score=0.5)
    types = {s.type for p in preds for s in p.spans}
    assert types == {"DATE", "NAME:PATIENT"} and all(s.score >= 0.5 for p in preds for s in p.spans)


def test_jsonl_offsets_slice_the_original_files(preds, tmp_path):
    write_outputs(OutputConfig(str(tmp_path / "out"), ["jsonl"]), preds)
    recs = [json.loads(line) for line in (tmp_path / "out" / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in recs] == ["note1", "note2", "note3"]
    n = 0
    for r in recs:
        original = (NOTES / f"{r['id']}.txt").read_bytes().decode("utf-8")
        assert r["text"] == original
        for sp in r["spans"]:
            assert original[sp["start"]:sp["end"]] == sp["text"] and 0 < sp["score"] <= 1
            n += 1
    assert n == sum(len(p.spans) for p in preds) > 10


@pytest.mark.parametrize("fmt, reader", [("brat", read_brat), ("i2b2", read_i2b2)])
def test_brat_and_i2b2_output_read_back_to_the_same_spans(preds, tmp_path, fmt, reader):
    write_outputs(OutputConfig(str(tmp_path / "out"), [fmt]), preds)
    back = {i: (t, s) for i, t, s in reader(tmp_path / "out" / fmt)}
    assert set(back) == {p.doc.doc_id for p in preds}
    for p in preds:
        text, spans = back[p.doc.doc_id]
        assert text == p.doc.text                                # CRLF, tabs and trailing spaces included
        assert sorted(spans) == [(s.start, s.end, s.type) for s in p.spans]


def test_brat_input_gives_the_annotations_as_reference(preds, tmp_path):
    write_outputs(OutputConfig(str(tmp_path / "out"), ["brat"]), preds)
    docs = read_documents(tmp_path / "out" / "brat", "brat", warn=pytest.fail)
    assert [(d.doc_id, d.text) for d in docs] == [(p.doc.doc_id, p.doc.text) for p in preds]
    assert [d.ref for d in docs] == [[(s.start, s.end, s.type) for s in p.spans] for p in preds]


def test_csv_output_alone_is_a_file_with_redacted_column(preds, tmp_path):
    out = tmp_path / "preds.csv"
    write_outputs(OutputConfig(str(out), ["csv"]), preds, redacted=["a", "b", "c"])
    import pandas as pd
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(df.columns) == ["id", "text", "prediction", "spans", "redacted"] and list(df.redacted) == ["a", "b", "c"]
    assert df.text[0] == preds[0].doc.text and "{{DATE}}3/4/2091{{/DATE}}" in df.prediction[0]


def test_existing_brat_folder_is_refused_unless_overwrite(preds, tmp_path):
    cfg = OutputConfig(str(tmp_path), ["brat", "jsonl"])
    (tmp_path / "brat").mkdir()
    (tmp_path / "brat" / "other.txt").write_text("someone's file")
    with pytest.raises(OutputError, match=r"brat: the folder holds files; pass --overwrite"):
        write_outputs(cfg, preds)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brat"]           # nothing written, nothing left over
    cfg.overwrite = True
    write_outputs(cfg, preds)   # --overwrite writes beside someone's file, never over it (issue 22)
    assert sorted(p.name for p in (tmp_path / "brat").iterdir()) == \
        [f"note{i}.{e}" for i in (1, 2, 3) for e in ("ann", "txt")] + ["other.txt"]
    assert (tmp_path / "brat" / "other.txt").read_text() == "someone's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".seq2seq-manifest.json", "brat", "predictions.jsonl"]


def test_a_failing_format_leaves_no_partial_output(preds, tmp_path, monkeypatch):
    import seq2seq.formats.writers as w
    def boom(pred): raise RuntimeError("disk full")
    monkeypatch.setattr(w, "i2b2_xml", boom)
    with pytest.raises(RuntimeError):
        write_outputs(OutputConfig(str(tmp_path / "out"), ["jsonl", "brat", "i2b2"]), preds)
    assert not (tmp_path / "out").exists()   # not even the folders it made


def test_xml_refuses_characters_it_cannot_hold(tmp_path):
    p = DocumentPrediction(Document("bad", "a\x01b"), [], [(0, 3)])
    with pytest.raises(OutputError, match="bad: character 0x1"):
        write_outputs(OutputConfig(str(tmp_path / "o"), ["i2b2"]), [p])


def test_bad_inputs_are_named_and_skipped(tmp_path):
    (tmp_path / "good.txt").write_text("Seen by Dr. Smith.")
    (tmp_path / "latin1.txt").write_bytes("Seen by Dr. M\xfcller.".encode("latin-1"))
    (tmp_path / "empty.txt").write_text(" \n")
    (tmp_path / "notes.md").write_text("not a note")
    warned = []
    docs = read_documents(tmp_path, "text", warn=warned.append)
    assert [d.doc_id for d in docs] == ["good"]
    assert len(warned) == 3 and "1 file(s) without the .txt extension skipped: notes.md" in warned[0]
    assert "empty.txt: empty document" in warned[1] and "latin1.txt: not UTF-8" in warned[2]
    (tmp_path / "good.txt").unlink()
    with pytest.raises(DocumentError, match="no document could be read"):
        read_documents(tmp_path, "text", warn=warned.append)


@pytest.mark.parametrize("fmt, match", [("text", "holds no .txt file"), ("docx", "--input-format 'docx'")])
def test_folder_without_notes_and_unknown_format(tmp_path, fmt, match):
    with pytest.raises(DocumentError, match=match):
        read_documents(tmp_path, fmt)


def test_unknown_output_format():
    with pytest.raises(OutputError, match="--output-format 'xml'"):
        OutputConfig("out", ["jsonl", "xml"])


def test_check_outputs_refuses_an_existing_csv(tmp_path):
    (tmp_path / "p.csv").write_text("x")
    with pytest.raises(OutputError, match="p.csv: the file exists"):
        check_outputs(OutputConfig(str(tmp_path / "p.csv")), redacted=False)


def test_csv_reference_column(tmp_path):
    from seq2seq.deid.pipeline import _attach_ref
    path = tmp_path / "r.csv"
    path.write_text('orig_text,ann\nSeen by Smith.,Seen by {{NAME}}Smith{{/NAME}}.\nHi there.,\n', encoding="utf-8")
    docs = read_documents(path, "csv")
    _attach_ref(docs, "csv", "ann", path)
    assert [d.ref for d in docs] == [[(8, 13, "NAME")], None]        # an empty cell: not scored
    path.write_text('orig_text,ann\nSeen by Smith.,Seen by {{NAME}}Smyth{{/NAME}}.\n', encoding="utf-8")
    with pytest.raises(DocumentError, match="column 'ann', row 1: its text differs"):
        _attach_ref(read_documents(path, "csv"), "csv", "ann", path)


# ---------------------------------------------------------------- a leading BOM

class GoldLearn(FakeLearn):
    "A fake model that marks, in each sentence, every occurrence of the strings it is given."

    def __init__(self, strings):
        super().__init__()
        self.rx = re.compile("|".join(re.escape(s) for s in sorted(strings, key=len, reverse=True)))

    def restore(self, texts, cfg=None, with_spans=False, **kw):
        return [("", [ScoredSpan(m.start(), m.end(), "PHI", 1.0) for m in self.rx.finditer(t)]) for t in texts]


def test_dev_notes_with_a_bom_get_the_gold_offsets_shifted_by_one(corpora, tmp_path):
    src = corpora / "meddocan" / "dev" / "brat"
    gold = {i: (t, s) for i, t, s in read_brat(src)}
    plain, bom = tmp_path / "plain", tmp_path / "bom"
    plain.mkdir(), bom.mkdir()
    for i, (t, _) in gold.items():
        (plain / f"{i}.txt").write_bytes(t.encode("utf-8"))
        (bom / f"{i}.txt").write_bytes(b"\xef\xbb\xbf" + t.encode("utf-8"))
    learn = GoldLearn({t[s.start:s.end] for t, ss in gold.values() for s in ss})
    p_plain = predict_documents(learn, read_documents(plain, "text", warn=pytest.fail))
    p_bom = predict_documents(learn, read_documents(bom, "text", warn=pytest.fail))
    n = 0
    for a, b in zip(p_plain, p_bom):
        assert b.doc.text == "\ufeff" + a.doc.text and b.doc.text == (bom / f"{b.doc.doc_id}.txt").read_text(encoding="utf-8")
        assert [(s.start + 1, s.end + 1) for s in a.spans] == [(s.start, s.end) for s in b.spans]
        text, spans = gold[b.doc.doc_id]
        found = {(s.start, s.end): b.doc.text[s.start:s.end] for s in b.spans}
        for g in spans:     # every gold span (a BRAT .ann of the BOM file counts the BOM: + 1) at its offsets
            if (g.start + 1, g.end + 1) in found:
                assert found[(g.start + 1, g.end + 1)] == text[g.start:g.end]
                n += 1
    assert n > 0.95 * sum(len(s) for _, s in gold.values())     # all but the overlapping gold spans
    # the outputs keep the BOM, and our BRAT output reads back with the same offsets
    out = OutputConfig(str(tmp_path / "out"), ["brat", "jsonl"])
    write_outputs(out, p_bom[:5], [p.doc.text for p in p_bom[:5]], documents=True)
    for p in p_bom[:5]:
        assert (tmp_path / "out" / "brat" / f"{p.doc.doc_id}.txt").read_bytes().startswith(b"\xef\xbb\xbf")
        assert (tmp_path / "out" / "redacted" / f"{p.doc.doc_id}.txt").read_bytes().startswith(b"\xef\xbb\xbf")
    back = {i: [(s.start, s.end) for s in sp] for i, _, sp in read_brat(tmp_path / "out" / "brat")}
    assert back == {p.doc.doc_id: [(s.start, s.end) for s in p.spans] for p in p_bom[:5]}


def test_redacted_copies_of_notes_are_files_whatever_the_format(preds, tmp_path):
    paths = write_outputs(OutputConfig(str(tmp_path / "o"), ["jsonl"]), preds, [p.doc.text.upper() for p in preds],
                          [[x.upper() for x in (p.doc.text[s.start:s.end] for s in p.spans)] for p in preds], documents=True)
    assert set(paths) == {"jsonl", "redacted"}
    assert (tmp_path / "o" / "redacted" / "note1.txt").read_bytes().decode("utf-8") == preds[0].doc.text.upper()
    rec = json.loads((tmp_path / "o" / "predictions.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert all(s["replacement"] == s["text"].upper() for s in rec["spans"])
    write_outputs(OutputConfig(str(tmp_path / "c.csv"), ["csv"]), preds, [p.doc.text for p in preds], documents=True)
    assert (tmp_path / "c-redacted" / "note2.txt").is_file()
    assert "redacted" not in write_outputs(OutputConfig(str(tmp_path / "r"), ["jsonl"]), preds, [p.doc.text for p in preds])
