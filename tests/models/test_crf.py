"""The CRF baseline: BIO labels from spans and back, learning, faithful output, save/load."""
import functools

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from seq2seq.models.crf import CrfConfig, CrfFileError, bio_labels, bio_spans, load_crf, train_crf, words
from seq2seq.text.tags import Span, parse, spans, strip_tags

NAMES = ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans", "Walker", "Wright"]
FILLERS = ["The patient", "Today", "Yesterday", "The nurse", "Our team"]


def _pairs() -> pd.DataFrame:
    "Tiny corpus with an obvious pattern: the word after 'Dr.' is a NAME, numbers after 'age' are an AGE."
    rows = []
    for i, n in enumerate(NAMES * 3):
        f, age = FILLERS[i % len(FILLERS)], 20 + i
        ann = f"{f} saw Dr. {{{{NAME}}}}{n}{{{{/NAME}}}} at age {{{{AGE}}}}{age}{{{{/AGE}}}} in the clinic."
        rows.append((strip_tags(ann), ann))
    return pd.DataFrame(rows, columns=["orig_text", "annotated_text"])


@functools.lru_cache(maxsize=None)
def _tagger():
    "One tiny tagger for the whole module (hypothesis runs many examples on it)."
    return train_crf(_pairs(), lang="en", cfg=CrfConfig(max_iterations=50))


@pytest.fixture
def tagger():
    return _tagger()


def test_bio_labels_from_spans():
    plain, sps = parse("Dr. {{NAME}}Anna Smith{{/NAME}} came on {{DATE}}2019-05-01{{/DATE}}.")
    ws = words(plain, "en")
    labs = dict(zip([w.text for w in ws], bio_labels(ws, sps)))
    assert labs["Anna"] == "B-NAME" and labs["Smith"] == "I-NAME" and labs["came"] == "O"
    assert labs["2019"] == "B-DATE" and labs["05"] == "I-DATE" and labs["."] == "O"
    assert bio_spans(ws, bio_labels(ws, sps)) == sps  # every boundary falls between words here


def test_adjacent_spans_of_one_type_stay_apart():
    plain, sps = parse("{{NAME}}Anna{{/NAME}} {{NAME}}Smith{{/NAME}} left")
    ws = words(plain, "en")
    assert bio_labels(ws, sps) == ["B-NAME", "B-NAME", "O"]
    assert bio_spans(ws, bio_labels(ws, sps)) == sps


def test_bio_repair_of_an_i_without_b():
    ws = words("Anna Smith met Bob Jones", "en")
    labels = ["I-NAME", "I-NAME", "O", "I-NAME", "I-AGE"]
    assert bio_spans(ws, labels) == [Span(0, 10, "NAME"), Span(15, 18, "NAME"), Span(19, 24, "AGE")]


def test_learns_an_obvious_pattern(tagger):
    out = tagger.annotate(["Our team saw Dr. Garcia at age 77 in the clinic."])[0]
    assert out == "Our team saw Dr. {{NAME}}Garcia{{/NAME}} at age {{AGE}}77{{/AGE}} in the clinic."
    assert set(tagger.labels) == {"O", "B-NAME", "B-AGE"}


def test_output_is_faithful_to_the_source(tagger):
    texts = ["  Dr.  Lopez,\tage 41 ;\nagain { braces } ", "", "Dr. Lee", "age 9!", "x" * 3]
    for t, out in zip(texts, tagger.annotate(texts)):
        assert strip_tags(out) == t
        spans(out)  # well-formed


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)), max_size=60)
       | st.lists(st.sampled_from(["Dr.", "Smith", "age", "41", " ", "  ", "\n", ",", "-", "é"]), max_size=12)
       .map("".join))
def test_any_text_comes_back_unchanged(text):
    "Whatever the text (whitespace runs, unicode, punctuation), the markers are the only change."
    out = _tagger().annotate_one(text)
    assert strip_tags(out) == text
    spans(out)


def test_save_load_round_trip(tagger, tmp_path):
    folder = tagger.save(tmp_path / "crf")
    assert sorted(p.name for p in folder.iterdir()) == ["crf.crfsuite", "crf.json"]
    again = load_crf(folder)
    assert again.lang == "en" and again.cfg == tagger.cfg
    texts = _pairs().orig_text.tolist()[:5] + ["Today saw Dr. Novak at age 3 in the clinic."]
    assert again.annotate(texts) == tagger.annotate(texts)


def test_load_of_a_non_model_folder_is_one_clear_error(tmp_path):
    with pytest.raises(CrfFileError, match="not a CRF model folder"):
        load_crf(tmp_path)


def test_target_must_match_its_source():
    bad = pd.DataFrame({"orig_text": ["a b"], "annotated_text": ["{{NAME}}a{{/NAME}} c"]})
    with pytest.raises(ValueError, match="differs from its source"):
        train_crf(bad, lang="en")


def test_on_meddocan_slice(corpora):
    "A few hundred real sentences: the CRF finds most dates and names of held-out sentences."
    from seq2seq.data.pairs import read_pairs
    from seq2seq.text.scores import span_scores
    df = read_pairs(corpora / "meddocan" / "train.csv", verbose=False).iloc[:800]
    tr, te = df.iloc[:600], df.iloc[600:]
    tg = train_crf(tr, lang="es", cfg=CrfConfig(max_iterations=60))
    preds = tg.annotate(te.orig_text.tolist())
    assert [strip_tags(p) for p in preds] == te.orig_text.tolist()
    assert span_scores(preds, te.annotated_text.tolist())["f1"] > 0.6
