"Tests for seq2seq/text/scores.py: BLEU/chrF, strict spans, the de-identification scores, exact match."
import math

import pytest
import sacrebleu

from seq2seq.text.scores import (
    bleu_chrf, exact_match, faithfulness, lenient_spans, phi_scores, span_scores, text_metrics)


# --- BLEU / chrF -----------------------------------------------------------------------------

HYPS = ['The patient was seen by Dr. Smith on 3/4/2091.', 'Call the clinic tomorrow morning.',
        'No known drug allergies.']
REFS = ['The patient was seen by Dr. Smith on 3 April 2091.', 'Please call the clinic tomorrow.',
        'No known drug allergies.']


def test_bleu_chrf_agrees_with_sacrebleu():
    res = bleu_chrf(HYPS, REFS)
    assert res['bleu'] == pytest.approx(sacrebleu.corpus_bleu(HYPS, [REFS]).score)
    assert res['chrf'] == pytest.approx(sacrebleu.corpus_chrf(HYPS, [REFS]).score)
    assert 0 < res['bleu'] < 100 and 0 < res['chrf'] < 100


def test_bleu_chrf_by_hand():
    assert bleu_chrf(REFS, REFS) == {'bleu': pytest.approx(100), 'chrf': pytest.approx(100)}
    # one token wrong out of five: n-gram precisions 4/5, 3/4, 2/3, 1/2, no brevity penalty
    assert bleu_chrf(['a b c d e'], ['a b c d f'])['bleu'] == pytest.approx(100 * (0.2 ** 0.25), abs=1e-4)
    assert bleu_chrf(['x y z w'], ['a b c d']) == {'bleu': pytest.approx(0), 'chrf': pytest.approx(0)}


# --- spans -----------------------------------------------------------------------------------

REF = 'Seen by Dr. {{NAME:DOCTOR}}John Smith{{/NAME:DOCTOR}} on {{DATE}}3/4/2091{{/DATE}}.'


def test_lenient_spans():
    assert lenient_spans(REF) == {(12, 22, 'NAME:DOCTOR'), (26, 34, 'DATE')}
    assert lenient_spans('{{A}}x y') == set()                       # unclosed
    assert lenient_spans('x{{/A}} y') == set()                      # closes nothing
    assert lenient_spans('{{A}}x{{/B}}y{{/A}}') == {(0, 2, 'A')}    # a foreign close is skipped
    assert lenient_spans('{{A}}{{/A}}x') == set()                   # empty
    assert lenient_spans('{{A}}x{{B}}y{{/B}}z{{/A}}') == {(1, 2, 'B')}  # nested: the inner span stands
    assert lenient_spans('no tags {{ here }}') == set()


def test_span_scores_exact():
    s = span_scores([REF], [REF])
    assert (s['precision'], s['recall'], s['f1'], s['support']) == (1.0, 1.0, 1.0, 2)
    assert set(s['per_type']) == {'NAME:DOCTOR', 'DATE'}


def test_span_scores_partial_overlap_is_fp_and_fn():
    pred = 'Seen by Dr. John {{NAME:DOCTOR}}Smith{{/NAME:DOCTOR}} on {{DATE}}3/4/2091{{/DATE}}.'
    s = span_scores([pred], [REF])  # tp 1 (DATE), fp 1, fn 1
    assert s['precision'] == 0.5 and s['recall'] == 0.5 and s['f1'] == 0.5 and s['support'] == 2
    name = s['per_type']['NAME:DOCTOR']
    assert (name['precision'], name['recall'], name['f1'], name['support']) == (0.0, 0.0, 0.0, 1)
    assert s['per_type']['DATE']['f1'] == 1.0


def test_span_scores_wrong_type():
    pred = REF.replace('NAME:DOCTOR', 'NAME:PATIENT')
    s = span_scores([pred], [REF])
    assert s['per_type']['NAME:PATIENT'] == {'precision': 0.0, 'recall': 0.0, 'f1': 0.0, 'support': 0}
    assert s['per_type']['NAME:DOCTOR']['support'] == 1 and s['per_type']['NAME:DOCTOR']['recall'] == 0.0
    assert s['precision'] == 0.5 and s['recall'] == 0.5


def test_span_scores_per_type_over_corpus():
    refs = [REF, 'On {{DATE}}May 2{{/DATE}} and {{DATE}}May 3{{/DATE}}.', 'Nothing here.']
    preds = [REF.replace('{{DATE}}', '').replace('{{/DATE}}', ''),   # misses one DATE
             'On {{DATE}}May 2{{/DATE}} and {{DATE}}May 3{{/DATE}}.',
             '{{AGE}}Nothing{{/AGE}} here.']                           # a spurious AGE
    s = span_scores(preds, refs)
    tp, fp, fn = 3, 1, 1
    assert s['precision'] == pytest.approx(tp / (tp + fp)) and s['recall'] == pytest.approx(tp / (tp + fn))
    assert s['support'] == 4
    d = s['per_type']['DATE']
    assert (d['precision'], d['recall'], d['support']) == (1.0, pytest.approx(2 / 3), 3)
    assert s['per_type']['NAME:DOCTOR']['f1'] == 1.0 and s['per_type']['AGE']['precision'] == 0.0


def test_span_scores_malformed_predictions():
    preds = ['Seen by Dr. {{NAME:DOCTOR}}John Smith on {{DATE}}3/4/2091{{/DATE}}.',   # NAME never closed
             'Seen by Dr. John Smith{{/NAME:DOCTOR}} on 3/4/2091.']                    # close only
    s = span_scores(preds, [REF, REF])
    assert s['per_type']['DATE']['recall'] == 0.5 and s['per_type']['NAME:DOCTOR']['recall'] == 0.0
    assert s['precision'] == 1.0 and s['recall'] == 0.25


def test_span_scores_empty():
    s = span_scores(['plain'], ['plain'])
    assert (s['precision'], s['recall'], s['f1'], s['support'], s['per_type']) == (0.0, 0.0, 0.0, 0, {})


# --- exact match, faithfulness, all together -------------------------------------------------

def test_exact_match():
    assert exact_match(['a', 'b', 'c '], ['a', 'x', 'c']) == pytest.approx(1 / 3)
    assert exact_match([], []) == 0.0


def test_faithfulness():
    srcs = ['Seen by Dr. John Smith on 3/4/2091.', 'Plain text.']
    preds = [REF, 'Plain  text.']  # the second changed the text
    assert faithfulness(preds, srcs) == 0.5
    # the strip task compares with the source minus its tags
    assert faithfulness(['Seen by Dr. John Smith on 3/4/2091.'], [REF], strip_source=True) == 1.0
    assert faithfulness(['Seen by Dr. John Smith on 3/4/2091.'], [REF]) == 0.0


def test_text_metrics():
    res = text_metrics(HYPS, REFS, sources=HYPS)
    assert res['n'] == 3 and res['exact_match'] == pytest.approx(1 / 3)
    assert res['bleu'] == pytest.approx(bleu_chrf(HYPS, REFS)['bleu'])
    assert res['faithfulness'] == 1.0 and res['spans']['support'] == 0
    assert 'faithfulness' not in text_metrics(HYPS, REFS)
    assert not math.isnan(res['chrf'])


# ---------------------------------------------------------------- de-identification scores

def test_phi_scores_count_characters_not_spans():
    text = "Dr. Ana Ruiz saw her on 3/4/2091 at home."
    gold = [(4, 12, "NAME:DOCTOR"), (24, 32, "DATE")]
    # half of the date found (as another type: types do not matter), the name found with a word too many
    pred = [(0, 12, "NAME:PATIENT"), (28, 32, "ID")]
    res = phi_scores([text], [pred], [gold])
    # PHI characters: "AnaRuiz" (7, the space excluded) + "3/4/2091" (8) = 15; leaked "3/4/" = 4
    assert (res["phi_chars"], res["leaked_chars"]) == (15, 4)
    assert res["phi_recall"] == pytest.approx(11 / 15)
    # over-redaction: "Dr." (3 non-space characters) outside the reference, per PHI character
    assert res["over_chars"] == 3 and res["over_redaction"] == pytest.approx(3 / 15)
    pt = res["per_type"]
    assert pt["NAME:DOCTOR"]["phi_recall"] == 1.0 and pt["DATE"]["phi_recall"] == pytest.approx(4 / 8)
    assert pt["NAME:PATIENT"]["over_chars"] == 3 and pt["NAME:PATIENT"]["phi_chars"] == 0


def test_phi_scores_perfect_none_and_empty():
    text = "Seen by Dr. Smith."
    gold = [(12, 17, "NAME")]
    assert phi_scores([text], [gold], [gold])["phi_recall"] == 1.0
    none = phi_scores([text], [[]], [gold])
    assert none["phi_recall"] == 0.0 and none["leaked_chars"] == 5 and none["over_redaction"] == 0.0
    assert phi_scores(["no phi"], [[]], [[]])["phi_chars"] == 0


def test_text_metrics_carry_the_phi_scores():
    ref = "Seen by Dr. {{NAME:DOCTOR}}Smith{{/NAME:DOCTOR}} on {{DATE}}3/4{{/DATE}}."
    pred = "Seen by {{NAME:DOCTOR}}Dr. Smith{{/NAME:DOCTOR}} on 3/4."
    phi = text_metrics([pred], [ref], ["Seen by Dr. Smith on 3/4."])["phi"]
    assert phi["phi_chars"] == 8 and phi["leaked_chars"] == 3 and phi["over_chars"] == 3
