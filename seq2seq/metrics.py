"""Loss and metrics: padding-free sequence loss and token accuracy, sacrebleu BLEU/chrF,
strict span precision/recall/F1, exact match and faithfulness.

Training metrics are fastai callbacks; the text metrics work on plain strings so that
scripts/predict.py and the notebooks share them.
"""
from collections import Counter
from typing import Dict, Sequence

import sacrebleu
import torch
import torch.nn.functional as F

from . import compat  # noqa: F401  (before fastai)
from fastai.callback import Callback
from fastai.torch_core import add_metrics, get_model

from .tags import MARKER_RE, strip_tags

__all__ = ["seq2seq_loss", "seq2seq_acc", "TokenAccuracy", "bleu_chrf", "lenient_spans", "span_scores", "span_set_scores",
           "exact_match", "faithfulness", "text_metrics", "DecodedMetric", "ValidDecodes"]


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


def bleu_chrf(hyps: Sequence[str], refs: Sequence[str]) -> Dict[str, float]:
    "Corpus BLEU and chrF (sacrebleu, default settings) of hypotheses against one reference each."
    return {"bleu": sacrebleu.corpus_bleu(list(hyps), [list(refs)]).score,
            "chrf": sacrebleu.corpus_chrf(list(hyps), [list(refs)]).score}


def lenient_spans(text: str) -> set:
    """Spans `(start, end, type)` in the plain text of possibly malformed annotated text.

    A close marker ends the open span of the same type; unmatched or nested markers are skipped
    (model output is scored, never rejected).
    """
    res, plain_len, last, open_at, open_type = set(), 0, 0, None, None
    for m in MARKER_RE.finditer(text):
        plain_len += m.start() - last
        last = m.end()
        typ, close = m.group("type"), m.group("close") == "/"
        if not close: open_at, open_type = plain_len, typ
        elif open_type == typ:
            if plain_len > open_at: res.add((open_at, plain_len, typ))
            open_at = open_type = None
    return res


def span_scores(preds: Sequence[str], refs: Sequence[str]) -> Dict:
    """Strict span precision/recall/F1: a predicted span counts when its offsets in the plain text
    and its type equal a reference span's. Returns micro scores and `per_type`."""
    return span_set_scores([lenient_spans(p) for p in preds], [lenient_spans(r) for r in refs])


def span_set_scores(preds: Sequence[set], refs: Sequence[set]) -> Dict:
    """`span_scores` on spans given as sets of `(start, end, type)` per text (overlaps allowed)."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for ps, rs in zip(preds, refs):
        for s in ps & rs: tp[s[2]] += 1
        for s in ps - rs: fp[s[2]] += 1
        for s in rs - ps: fn[s[2]] += 1
    per_type = {t: _prf(tp[t], fp[t], fn[t]) for t in sorted(set(tp) | set(fp) | set(fn))}
    return {**_prf(sum(tp.values()), sum(fp.values()), sum(fn.values())), "per_type": per_type}


def _prf(tp: int, fp: int, fn: int) -> Dict[str, float]:
    "Precision, recall, F1 and support from counts (0 where undefined)."
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "support": tp + fn}


def exact_match(preds: Sequence[str], refs: Sequence[str]) -> float:
    "Share of predictions identical to their reference."
    return sum(p == r for p, r in zip(preds, refs)) / max(len(refs), 1)


def faithfulness(preds: Sequence[str], sources: Sequence[str], strip_source: bool = False) -> float:
    """Share of predictions whose text without tags equals the source (restore task), or, with
    `strip_source`, equals the source without tags (strip task)."""
    ok = sum(strip_tags(p) == (strip_tags(s) if strip_source else s) for p, s in zip(preds, sources))
    return ok / max(len(sources), 1)


def text_metrics(preds: Sequence[str], refs: Sequence[str], sources: Sequence[str] = None,
                 strip_source: bool = False) -> Dict:
    "Every text metric in one dict: bleu, chrf, exact_match, span P/R/F1 (micro + per type), faithfulness."
    res = {**bleu_chrf(preds, refs), "exact_match": exact_match(preds, refs), "spans": span_scores(preds, refs)}
    if sources is not None: res["faithfulness"] = faithfulness(preds, sources, strip_source)
    res["n"] = len(refs)
    return res


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
        from .decode import generate
        from .tokenizer import detokenize
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


