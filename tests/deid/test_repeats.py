"Tests for seq2seq/deid/repeats.py: the other occurrences of predicted PHI strings in a note."
import pytest

from seq2seq.config import ConfigError
from seq2seq.deid.repeats import RepeatConfig, repeat_spans, repeatable, with_repeats
from seq2seq.text.tags import ScoredSpan

NOTE = ("Paciente: Ana Ruiz Gil. NHC: 5467980.\nAna Ruiz Gil acude con su madre. Edad: 46 años.\n"
        "Llamar a Ana Ruiz Gil o al 5467980; Anabel no es la paciente. madre y 46.")


def _at(s: str, typ: str, score: float = .9, nth: int = 0) -> ScoredSpan:
    i = -1
    for _ in range(nth + 1): i = NOTE.index(s, i + 1)
    return ScoredSpan(i, i + len(s), typ, score)


def test_every_other_whole_word_occurrence_is_marked_with_the_predicted_type():
    pred = [_at("Ana Ruiz Gil", "NAME:PATIENT", .8), _at("5467980", "ID:MEDICALRECORD")]
    reps = repeat_spans(NOTE, pred)
    assert [NOTE[r.start:r.end] for r in reps] == ["Ana Ruiz Gil", "Ana Ruiz Gil", "5467980"]
    assert all(r.origin == "repeat" for r in reps) and {r.type for r in reps} == {"NAME:PATIENT", "ID:MEDICALRECORD"}
    assert reps[0].score == .8
    assert all(not (p.start < r.end and r.start < p.end) for r in reps for p in pred)  # never over a prediction
    assert "Anabel" not in [NOTE[r.start:r.end] for r in reps]


def test_short_numbers_lowercase_words_and_short_strings_are_not_repeated():
    pred = [_at("madre", "NAME:RELATIVE"), _at("46", "AGE"), _at("Gil", "NAME:PATIENT")]
    assert not repeatable("madre") and not repeatable("46") and not repeatable("Al")
    assert repeatable("Gil") and repeatable("5467980") and repeatable("La Palma")
    reps = repeat_spans(NOTE, pred)
    assert [NOTE[r.start:r.end] for r in reps] == ["Gil", "Gil"]  # "Gil" inside the names, as whole words
    assert repeat_spans(NOTE, pred, RepeatConfig(min_chars=4)) == []


def test_a_repeat_takes_the_majority_type_and_with_repeats_keeps_the_predictions():
    pred = [_at("Ana Ruiz Gil", "NAME:PATIENT", .6), _at("Ana Ruiz Gil", "NAME:PATIENT", .7, nth=1),
            _at("Ana Ruiz Gil", "NAME:DOCTOR", .99, nth=2)]
    both = with_repeats(NOTE, pred)
    assert both == sorted(pred)  # every occurrence predicted: nothing to add
    pred2 = pred[:2]
    reps = repeat_spans(NOTE, pred2)
    assert len(reps) == 1 and reps[0].type == "NAME:PATIENT" and reps[0].score == .7


def test_repeat_config_checks_and_modes():
    assert RepeatConfig().active(True) and not RepeatConfig().active(False)
    assert RepeatConfig("on").active(False) and not RepeatConfig("off").active(True)
    with pytest.raises(ConfigError): RepeatConfig("always")
    with pytest.raises(ConfigError): RepeatConfig(min_chars=0)


class _FirstOnly:
    "A fake learner that finds 'Ana Ruiz Gil' only in the first sentence it is given (as a model can miss)."

    def __init__(self):
        self.model = type("M", (), {"meta": {"lang": "es", "src": "orig_text", "task": "restore"}})()
        self.meta, self.seen = self.model.meta, False

    def restore(self, texts, cfg=None, with_spans=False, **kw):
        res = []
        for t in texts:
            i = t.find("Ana Ruiz Gil")
            res.append(("", [ScoredSpan(i, i + 12, "NAME:PATIENT", .9)] if i >= 0 and not self.seen else []))
            self.seen |= i >= 0
        return res


@pytest.mark.parametrize("mode, marked", [("auto", True), ("off", False)])
def test_redacting_a_note_redacts_the_repeats_and_lists_them(tmp_path, mode, marked):
    import json
    from seq2seq.deid.pipeline import predict_docs
    from seq2seq.deid.redact import RedactConfig
    from seq2seq.formats.writers import OutputConfig
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "n1.txt").write_text(NOTE, encoding="utf-8")
    out = OutputConfig(str(tmp_path / "out"), ["jsonl"])
    res = predict_docs(_FirstOnly(), tmp_path / "in", "text", out, RedactConfig("mask"), repeats=RepeatConfig(mode),
                       log=lambda m: None)
    rec = json.loads((tmp_path / "out" / "predictions.jsonl").read_text())
    origins = [s["origin"] for s in rec["spans"]]
    assert origins.count("model") == 1 and origins.count("repeat") == (2 if marked else 0) == res["repeats"]
    assert ("Ana Ruiz Gil" in rec["redacted"]) is not marked
    assert len(rec["redacted"]) == len(NOTE)
