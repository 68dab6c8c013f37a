"""Text scores on plain strings: sacrebleu BLEU/chrF, strict span precision/recall/F1, the
de-identification scores (PHI recall, over-redaction), exact match and faithfulness. Pure: no torch, no fastai, so that scripts, the review page and the notebooks
share them cheaply (the training-time losses and metrics are `models.losses` and `training.metrics`).
"""
from collections import Counter
from typing import Dict, Iterable, Sequence

import sacrebleu

from .tags import MARKER_RE, strip_tags

__all__ = ["bleu_chrf", "lenient_spans", "span_scores", "span_set_scores", "phi_scores", "exact_match",
           "faithfulness", "text_metrics"]


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


def phi_scores(texts: Sequence[str], preds: Sequence[Iterable], refs: Sequence[Iterable]) -> Dict:
    """What a redacted copy would still hold: per text, `preds` and `refs` are spans `(start, end, type)`
    (or objects with those fields) of `texts`; types are ignored when spans cover characters.

    phi_recall: share of the reference's PHI characters (whitespace excluded) inside some predicted
    span, i.e. 1 - the share a redaction leaks. over_redaction: characters outside every reference
    span (whitespace excluded) inside some predicted span, per reference PHI character. `per_type`:
    the same for each reference type (its characters covered by a prediction of any type) and, for
    over-redaction, each predicted type (per PHI character of all types). Counts come along
    (`phi_chars`, `leaked_chars`, `over_chars`) so that sums over corpora stay exact.
    """
    phi, leaked, over = Counter(), Counter(), Counter()
    for text, ps, rs in zip(texts, preds, refs):
        gold, got = _cover(text, rs), _cover(text, ps)
        for i, t in gold.items():
            phi[t] += 1
            if i not in got: leaked[t] += 1
        for i, t in got.items():
            if i not in gold: over[t] += 1
    n = sum(phi.values())
    res = {"phi_recall": 1 - sum(leaked.values()) / n if n else 0.0,
           "over_redaction": sum(over.values()) / n if n else 0.0,
           "phi_chars": n, "leaked_chars": sum(leaked.values()), "over_chars": sum(over.values())}
    res["per_type"] = {t: {"phi_recall": 1 - leaked[t] / phi[t] if phi[t] else 0.0,
                           "over_redaction": over[t] / n if n else 0.0,
                           "phi_chars": phi[t], "leaked_chars": leaked[t], "over_chars": over[t]}
                       for t in sorted(set(phi) | set(over))}
    return res


def _cover(text: str, spans: Iterable) -> Dict[int, str]:
    "Non-whitespace character positions of `text` inside `spans`, with the type of the (first) span."
    res = {}
    for sp in spans:
        s, e, t = (sp.start, sp.end, sp.type) if hasattr(sp, "start") else tuple(sp)[:3]
        for i in range(max(s, 0), min(e, len(text))):
            if not text[i].isspace(): res.setdefault(i, t)
    return res


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
    """Every text metric in one dict: bleu, chrf, exact_match, span P/R/F1 (micro + per type), `phi`
    (PHI recall and over-redaction, `phi_scores`, on the reference's plain text), faithfulness."""
    res = {**bleu_chrf(preds, refs), "exact_match": exact_match(preds, refs), "spans": span_scores(preds, refs),
           "phi": phi_scores([strip_tags(r) for r in refs], [lenient_spans(p) for p in preds],
                             [lenient_spans(r) for r in refs])}
    if sources is not None: res["faithfulness"] = faithfulness(preds, sources, strip_source)
    res["n"] = len(refs)
    return res


