"Tests for seq2seq/models/losses.py: the sequence loss and token accuracy ignore padding."
import pytest
import torch
import torch.nn.functional as F

from seq2seq.models.losses import TokenAccuracy, seq2seq_acc, seq2seq_loss

PAD = 1


def logits_for(preds, V=5, conf=3.0):
    "Logits (bs, tl, V) whose argmax is `preds` (bs, tl)."
    preds = torch.tensor(preds)
    out = torch.zeros(*preds.shape, V)
    out.scatter_(-1, preds[..., None], conf)
    return out


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
