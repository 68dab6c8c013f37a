import math

import pytest
import sacrebleu
import torch
import torch.nn.functional as F

from seq2seq.models.losses import TokenAccuracy, seq2seq_acc, seq2seq_loss
from seq2seq.text.scores import bleu_chrf, exact_match, faithfulness, lenient_spans, span_scores, text_metrics

PAD = 1


def logits_for(preds, V=5, conf=3.0):
    "Logits (bs, tl, V) whose argmax is `preds` (bs, tl)."
    preds = torch.tensor(preds)
    out = torch.zeros(*preds.shape, V)
    out.scatter_(-1, preds[..., None], conf)
    return out


# --- loss and token accuracy -----------------------------------------------------------------

def test_loss_ignores_padding():
    torch.manual_seed(0)
    targ = torch.tensor([[2, 3, 4], [0, PAD, PAD]])
    out = torch.randn(2, 3, 5)
    real = [(0, 0), (0, 1), (0, 2), (1, 0)]
    manual = -sum(F.log_softmax(out[i, j], -1)[targ[i, j]] for i, j in real) / len(real)
    assert torch.isclose(seq2seq_loss(out, targ), manual, atol=1e-6)
    noisy = out.clone()
    noisy[1, 1:] = torch.randn(2, 5) * 100  # whatever the model says at padded positions
    assert torch.isclose(seq2seq_loss(noisy, targ), manual, atol=1e-6)
    assert not torch.isclose(seq2seq_loss(out, targ, pad_idx=4), manual)  # the pad id matters


def test_accuracy_ignores_padding():
    targ = torch.tensor([[2, 3, 4], [0, PAD, PAD]])
    out = logits_for([[2, 0, 4], [0, 3, 0]])  # padded positions predicted "wrong"
    assert seq2seq_acc(out, targ).item() == pytest.approx(3 / 4)
    out = logits_for([[2, 0, 4], [0, PAD, PAD]])  # or "right": no difference
    assert seq2seq_acc(out, targ).item() == pytest.approx(3 / 4)


def test_token_accuracy_counts_tokens_across_batches():
    acc = TokenAccuracy(pad_idx=PAD)
    acc.on_epoch_begin()
    b1 = (logits_for([[2, 3, 0], [4, 4, 0]]), torch.tensor([[2, 3, 4], [4, PAD, PAD]]))     # 3 of 4 right
    b2 = (logits_for([[0, 0, 2, 2, 2]]), torch.tensor([[2, 2, 2, 2, 2]]))                   # 3 of 5 right
    for out, targ in (b1, b2):
        acc.on_batch_end(last_output=out, last_target=targ)
    res = acc.on_epoch_end(last_metrics=[0.5])['last_metrics']
    assert res[0] == 0.5 and res[1] == pytest.approx(6 / 9)
    assert res[1] != pytest.approx((3 / 4 + 3 / 5) / 2)  # not a mean of batch means
    acc.on_epoch_begin()
    acc.on_batch_end(last_output=b2[0], last_target=b2[1])
    assert acc.on_epoch_end(last_metrics=[0.5])['last_metrics'][1] == pytest.approx(3 / 5)  # reset per epoch


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
