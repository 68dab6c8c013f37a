"""Figures for the notebooks: data lengths, span types, attention and decoder comparisons.

Every function builds a `matplotlib.figure.Figure` directly (not through pyplot), so nothing is
shown, no global figure state builds up, and the caller decides: display it (a notebook shows a
returned Figure), `fig.savefig(path)`, or drop it.
"""
from collections import Counter
from numbers import Number
from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from .. import compat  # noqa: F401  (before fastai)
from fastai.text.transform import BOS, EOS

from ..decoding.restore import token_ids
from ..models.registry import arch_of
from ..text.tags import parse
from ..text.tokenizer import pieces, tokenize

__all__ = ["plot_lengths", "plot_tag_counts", "attention_inputs", "plot_attention", "plot_decisions",
           "plot_decoder_comparison"]


def _text_lengths(texts, unit: str, lang: str) -> np.ndarray:
    "Length of each text in `unit` ('tokens': the model's tokens, 'chars': characters)."
    if unit == "chars": return np.array([len(t) for t in texts])
    return np.array([len(tokenize(t, lang)) for t in texts])


def plot_lengths(df: pd.DataFrame, cols: Sequence[str] = ("orig_text", "annotated_text"), *,
                 unit: str = "tokens", lang: str = "en", bins: int = 30) -> Figure:
    """Histograms of the lengths of the texts in `cols` of `df`, one panel per column.

    Args:
        unit: "tokens" (the model's tokens, whitespace controls and tag markers included) or "chars".
        lang: spaCy language of the tokenizer (unit "tokens").
        bins: bars per histogram.
    Empty cells are left out. Each panel's title gives the mean and maximum length.
    """
    if unit not in ("tokens", "chars"): raise ValueError(f"unit must be 'tokens' or 'chars', got {unit!r}")
    cols = [cols] if isinstance(cols, str) else list(cols)
    missing = [c for c in cols if c not in df.columns]
    if missing: raise KeyError(f"no column(s) {', '.join(map(repr, missing))} in the frame")
    fig = Figure(figsize=(5 * len(cols), 3.5), layout="constrained")
    for ax, col in zip(fig.subplots(1, len(cols), squeeze=False)[0], cols):
        texts = [t for t in df[col] if isinstance(t, str) and t]
        lens = _text_lengths(texts, unit, lang)
        ax.hist(lens, bins=bins, color="tab:blue")
        ax.set_xlabel(f"{unit} per text")
        ax.set_ylabel("texts")
        stats = f"mean {lens.mean():.1f}, max {lens.max()}" if len(lens) else "no texts"
        ax.set_title(f"{col} ({stats})")
    return fig


def plot_tag_counts(df: pd.DataFrame, col: str = "annotated_text", *, subtypes: bool = True) -> Figure:
    """Horizontal bar chart of how many spans of each type the annotated column `col` holds.

    With `subtypes=False`, `NAME:DOCTOR` and `NAME:PATIENT` count as `NAME`. Cells are validated
    (`tags.parse`): a malformed one raises `TagError`.
    """
    counts = Counter()
    for t in df[col]:
        if not isinstance(t, str): continue
        counts.update(sp.type if subtypes else sp.type.split(":")[0] for sp in parse(t)[1])
    items = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]))  # largest at the top
    fig = Figure(figsize=(6, 1 + 0.3 * max(len(items), 1)), layout="constrained")
    ax = fig.subplots()
    if not items:
        ax.text(0.5, 0.5, "no spans", ha="center", va="center", transform=ax.transAxes)
    else:
        names, ns = zip(*items)
        bars = ax.barh(names, ns, color="tab:orange")
        ax.bar_label(bars, padding=2)
    ax.set_xlabel("spans")
    ax.set_title(f"{col}: {sum(counts.values())} spans, {len(counts)} types")
    return fig


def _label(tok: str) -> str:
    "A tick label that shows whitespace tokens (`'\\n'`) instead of leaving them blank."
    return repr(tok) if tok.isspace() else tok


def attention_inputs(learn, text: str, decoder: str = "greedy", **decode_kwargs):
    """The inputs of `plot_attention`: `(src_toks, out_toks, src, tgt_in)`.

    `text` is restored (faithfully) with `decoder`; `src` (1, sl) are the source ids as the model
    reads them, `tgt_in` (1, tl) the output's target ids from BOS, and `out_toks` the tl tokens
    each step predicts (the output's tokens, then EOS).
    """
    lang = learn.model.meta["lang"]
    out = learn.restore([text], decoder=decoder, faithful=True, **decode_kwargs)[0]
    src_toks = [p.text for p in pieces(text, lang)]
    tgt_toks = [BOS] + tokenize(out, lang)
    own = getattr(learn.model, "numericalize", None)  # an open-vocabulary model reads any string
    src_ids = own([src_toks])[0].tolist() if own else token_ids(learn.data.x.vocab.stoi, src_toks)  # as `restore`
    tgt_ids = [learn.data.y.vocab.stoi.get(t, 0) for t in tgt_toks]
    dev = next(learn.model.parameters()).device
    return src_toks, tgt_toks[1:] + [EOS], torch.tensor([src_ids], device=dev), torch.tensor([tgt_ids], device=dev)


def plot_attention(learn, text: str, decoder: str = "greedy", **decode_kwargs) -> Figure:
    """Heatmap of the attention weights of `learn`'s model over `text`'s tokens.

    `text` is restored faithfully with `decoder` (and `decode_kwargs`, see `Seq2SeqLearner.restore`);
    the model then reads the source and its own output teacher-forced. Row i is the attention
    while predicting output token i (its label), over the source tokens (columns); each row sums
    to 1. Raises ValueError if the model was built without attention.
    """
    model = learn.model
    if not model.cfg.attention:
        raise ValueError("this model has no attention to plot: train it with ModelConfig(attention=True)")
    src_toks, out_toks, src, tgt_in = attention_inputs(learn, text, decoder, **decode_kwargs)
    model.eval()
    with torch.no_grad():
        wgts = model.attention_weights(src, tgt_in)[0].float().cpu().numpy()  # (tl, sl)
    fig = Figure(figsize=(2 + 0.3 * len(src_toks), 1.5 + 0.3 * len(out_toks)), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(wgts, cmap="viridis", aspect="auto", vmin=0, vmax=1)
    ax.set_xticks(range(len(src_toks)), [_label(t) for t in src_toks], rotation=90)
    ax.set_yticks(range(len(out_toks)), [_label(t) for t in out_toks])
    ax.set_xlabel("source token")
    ax.set_ylabel("output token predicted")
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def plot_decisions(learn, text: str, decoder: str = "greedy", min_prob: float = 0.01, **decode_kwargs) -> Figure:
    """Heatmap of what the default (aligned, faithful) model chose between while restoring `text`.

    The model has no soft attention: at each output step it picks among copying the next source
    token, opening a tag, closing the open one and ending (seq2seq/models/aligned.py). Row i is output
    token i (its label), columns those candidates ("copy", the markers, xxeos), colour the
    probability the model gave each, teacher-forced on its own output; rows sum to 1. Columns whose
    probability never reaches `min_prob` are left out. Raises ValueError for other models.
    """
    model = learn.model
    cfg = getattr(model, "cfg", None)
    if cfg is None or arch_of(cfg).plot != "decisions" or not model.is_faithful():
        raise ValueError("only a faithful-trained aligned model has candidate decisions to plot (--arch aligned)")
    _, out_toks, src, tgt_in = attention_inputs(learn, text, decoder, **decode_kwargs)
    model.eval()
    with torch.no_grad():
        p = model(src, tgt_in)[0].float().softmax(-1).cpu().numpy()                   # (tl, C)
    names = ["copy"] + [model.tgt_itos[i] for i in model.cand_ids.tolist()]
    keep = [j for j in range(p.shape[1]) if p[:, j].max() >= min_prob]
    fig = Figure(figsize=(2.5 + 0.35 * len(keep), 1.5 + 0.3 * len(out_toks)), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(p[:, keep], cmap="viridis", aspect="auto", vmin=0, vmax=1)
    ax.set_xticks(range(len(keep)), [names[j] for j in keep], rotation=90)
    ax.set_yticks(range(len(out_toks)), [_label(t) for t in out_toks])
    ax.set_xlabel("candidate")
    ax.set_ylabel("output token chosen")
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def plot_decoder_comparison(results: Mapping[str, Mapping[str, float]],
                            metrics: Optional[Sequence[str]] = None) -> Figure:
    """One bar chart per metric, one bar per decoder.

    Args:
        results: `{decoder: {metric: value}}`, e.g. `{"greedy": {"bleu": 71.2, "span_f1": 0.8}}`
            (a DataFrame's `to_dict("index")` fits). Values that are not numbers are skipped.
        metrics: the metrics to draw, in order (default: every numeric one of the first decoder).
    """
    if not results: raise ValueError("no results to plot")
    decs = list(results)
    if metrics is None:
        metrics = [k for k, v in results[decs[0]].items() if isinstance(v, Number) and not isinstance(v, bool)]
    if not metrics: raise ValueError("no numeric metric to plot")
    fig = Figure(figsize=(max(3 * len(metrics), 4), 3.2), layout="constrained")
    colors = [f"C{i % 10}" for i in range(len(decs))]
    for ax, m in zip(fig.subplots(1, len(metrics), squeeze=False)[0], metrics):
        vals = [float(results[d].get(m, np.nan)) for d in decs]
        bars = ax.bar(decs, vals, color=colors)
        ax.bar_label(bars, fmt="%.3g", padding=2, fontsize=8)
        ax.set_title(m)
        ax.tick_params(axis="x", rotation=30)
        ax.margins(y=0.15)
        if np.nanmin(vals + [0.0]) >= 0: ax.set_ylim(bottom=0)  # all-zero scores: no axis below 0
    return fig
