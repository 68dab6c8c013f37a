"""Training losses and accuracies: padding-free sequence cross-entropy and token accuracy (every
arch's "full" objective), and their candidate versions for the faithful objective of the aligned
arch (`AlignedSeq2Seq.forward` returns (bs, tl, C) candidate logits; `gold_columns` maps target
ids to columns). The accuracies are fastai metric callbacks.
"""
import torch.nn.functional as F
from torch import Tensor

from .. import compat  # noqa: F401  (before fastai)
from fastai.callback import Callback
from fastai.torch_core import add_metrics

__all__ = ["seq2seq_loss", "seq2seq_acc", "TokenAccuracy", "CandidateLoss", "CandidateAccuracy"]


def seq2seq_loss(out, targ, pad_idx: int = 1):
    "Mean cross-entropy over real (non-pad) target tokens. out (bs, tl, V), targ (bs, tl)."
    return F.cross_entropy(out.flatten(0, 1).float(), targ.flatten(), ignore_index=pad_idx)


def seq2seq_acc(out, targ, pad_idx: int = 1):
    "Share of real (non-pad) target tokens predicted right (argmax). out (bs, tl, V), targ (bs, tl)."
    mask = targ != pad_idx
    return (out.argmax(-1) == targ)[mask].float().mean()


class TokenAccuracy(Callback):
    "Token accuracy over the whole validation set, counting tokens, not batches; padding ignored."
    name = "token_acc"

    def __init__(self, pad_idx: int = 1): self.pad_idx = pad_idx
    def on_epoch_begin(self, **kwargs): self.right, self.total = 0, 0

    def on_batch_end(self, last_output, last_target, **kwargs):
        mask = last_target != self.pad_idx
        self.right += int((last_output.argmax(-1) == last_target)[mask].sum())
        self.total += int(mask.sum())

    def on_epoch_end(self, last_metrics, **kwargs):
        return add_metrics(last_metrics, self.right / max(self.total, 1))


class CandidateLoss:
    """Mean cross-entropy over the faithful candidates: `out` (bs, tl, C) from
    `AlignedSeq2Seq.forward`, `targ` (bs, tl) target ids; padding ignored."""

    def __init__(self, cols: Tensor): self.cols = cols

    def __call__(self, out: Tensor, targ: Tensor) -> Tensor:
        gold = self.cols.to(targ.device)[targ]
        return F.cross_entropy(out.flatten(0, 1).float(), gold.flatten(), ignore_index=-100)


class CandidateAccuracy(TokenAccuracy):
    """Token accuracy of a faithful-objective model (named `token_acc` too): the share of real
    target positions where the most likely candidate is the gold token. Padding ignored."""

    def __init__(self, cols: Tensor):
        super().__init__(pad_idx=-100)
        self.cols = cols

    def on_batch_end(self, last_output, last_target, **kwargs):
        gold = self.cols.to(last_target.device)[last_target]
        mask = gold != -100
        self.right += int((last_output.argmax(-1) == gold)[mask].sum())
        self.total += int(mask.sum())
