"""Validation metrics that decode: greedy decodes of (up to `limit`) validation sentences per epoch
(`ValidDecodes`), shared by the fastai metrics BLEU, chrF and span F1 (`DecodedMetric`)."""
import torch

from .. import compat  # noqa: F401  (before fastai)
from fastai.callback import Callback
from fastai.torch_core import add_metrics, get_model

from ..decoding.search import generate
from ..text.scores import bleu_chrf, exact_match, span_scores
from ..text.tokenizer import detokenize

__all__ = ["ValidDecodes", "DecodedMetric"]


class ValidDecodes:
    """Greedy decodes of (up to `limit`) validation sentences, shared by the text metrics of one epoch.

    Args:
        learn: the Learner (its model decodes; its data's target vocab detokenizes).
        limit: most sentences decoded per epoch (decoding is slower than the teacher-forced pass).
    """

    def __init__(self, learn, limit: int = 1000):
        self.learn, self.limit, self.hyps, self.refs = learn, limit, [], []

    def reset(self): self.hyps, self.refs = [], []

    def add(self, last_input, last_target):
        "Decode one validation batch greedily; keep hypotheses and references as text."
        if len(self.refs) >= self.limit: return
        itos = self.learn.data.y.vocab.itos
        model = get_model(self.learn.model)  # the bare model, also under DistributedDataParallel
        eos = model.eos_idx
        # a model that has its own faithful constraint (the faithful objective) decodes under it
        cons = model.constraint(last_input[0]) if getattr(model, "constraint", None) and \
            getattr(model.cfg, "objective", None) == "faithful" else None
        with torch.no_grad():
            out = generate(model, last_input[0], decoder="greedy", constraint=cons)
        for hyp, targ in zip(out, last_target.tolist()):
            self.hyps.append(detokenize(itos[i] for i in hyp[0].tokens))
            self.refs.append(detokenize(itos[i] for i in targ if i != eos))

    def result(self, key: str) -> float:
        if not self.refs: return float("nan")
        if key in ("bleu", "chrf"): return bleu_chrf(self.hyps, self.refs)[key]
        if key == "span_f1": return span_scores(self.hyps, self.refs)["f1"]
        if key == "exact_match": return exact_match(self.hyps, self.refs)
        raise KeyError(key)


class DecodedMetric(Callback):
    "A fastai metric computed on `ValidDecodes`; the `owner` one fills the shared decodes."

    def __init__(self, decodes: ValidDecodes, name: str, owner: bool = False):
        self.decodes, self.name, self.owner = decodes, name, owner

    def on_epoch_begin(self, **kwargs):
        if self.owner: self.decodes.reset()

    def on_batch_end(self, last_input, last_target, train, **kwargs):
        if self.owner and not train: self.decodes.add(last_input, last_target)

    def on_epoch_end(self, last_metrics, **kwargs):
        return add_metrics(last_metrics, self.decodes.result(self.name))
