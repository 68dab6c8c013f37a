"""Mention swapping: more training rows, made by putting other mentions of the same type into the
spans of the training rows (Dai & Adel 2020, "mention replacement").

A de-identification model should find a name or a street by its context and shape, not by
remembering the few thousand it saw in training: most spans a deployed model meets are new. A
swapped copy keeps the row's words around each span and its tags, and fills each span with a
mention of that type drawn from the other training spans (its type's pool), so a copy of
"Seen by Dr. {{NAME:DOCTOR}}Smith{{/NAME:DOCTOR}}" may read "Seen by Dr. {{NAME:DOCTOR}}Ana Ruiz
Gil{{/NAME:DOCTOR}}". Only training rows are copied; validation rows stay as they are.
"""
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import check, option

from ..text.tags import MARKER_RE, Span, annotate, has_markers, parse

__all__ = ["mention_pools", "swap_row", "swap_mentions"]


def mention_pools(annotated: pd.Series) -> dict:
    "Type -> sorted distinct mention strings of the annotated texts (plain text, escape undone)."
    pools = defaultdict(set)
    for text in annotated:
        plain, sps = parse(text)
        for s in sps: pools[s.type].add(plain[s.start:s.end])
    return {t: sorted(v) for t, v in pools.items()}


def swap_row(annotated: str, pools: dict, rng: np.random.Generator, rate: float = 1.0) -> str:
    """`annotated` with each span, with probability `rate`, filled by a random mention of its type
    from `pools` (mention_pools); text outside the spans is kept."""
    plain, sps = parse(annotated)
    parts, out, pos, at = [], [], 0, 0
    for s in sps:
        pool = pools.get(s.type)
        new = pool[rng.integers(len(pool))] if pool and rng.random() < rate else plain[s.start:s.end]
        parts += [plain[pos:s.start], new]
        at += s.start - pos
        out.append(Span(at, at + len(new), s.type))
        at, pos = at + len(new), s.end
    parts.append(plain[pos:])
    return annotate("".join(parts), out)


def swap_mentions(pairs: pd.DataFrame, src: str, tgt: str, train_idx, copies: float, rate: float = 1.0,
                  seed: int = 42) -> pd.DataFrame:
    """New rows (same columns as `pairs`) made from the rows `train_idx` that hold spans: `copies`
    swapped copies of each (a fraction copies a seeded share of them, e.g. 0.5 = every other one on
    average). The annotated column is the one with markers (`tgt` to restore tags, `src` to strip
    them); the other gets the new text's plain form. Mentions come from those rows alone."""
    if copies <= 0: return pairs.iloc[:0].copy()
    ann, plain_col = _columns(pairs, src, tgt)
    rows = pairs.iloc[np.asarray(train_idx, dtype=int)]
    rows = rows[rows[ann].map(has_markers)]
    pools, rng = mention_pools(rows[ann]), np.random.default_rng(seed)
    whole, part = int(copies), copies - int(copies)
    picks = [rows] * whole + [rows[rng.random(len(rows)) < part]]
    res = pd.concat(picks, ignore_index=True)
    new = [swap_row(t, pools, rng, rate) for t in res[ann]]
    return res.assign(**{ann: new, plain_col: [parse(t)[0] for t in new]})


def _columns(pairs: pd.DataFrame, src: str, tgt: str) -> tuple[str, str]:
    "(annotated column, plain column) of a pair table: the annotated one holds more markers."
    n = lambda c: pairs[c].map(lambda t: len(MARKER_RE.findall(t))).sum()  # noqa: E731
    return (src, tgt) if n(src) > n(tgt) else (tgt, src)


@dataclass
class AugmentConfig:
    "Mention swapping (this module): extra training rows whose spans hold other mentions of their type."
    copies: float = option(0.0, "swapped copies of each training row with spans, each span holding another training "
                                "mention of its type (a fraction copies that share of the rows; 0: none); on "
                                "MEDDOCAN it helped with mentions seen in training, not with new ones (docs/experiments.md)",
                           flag="--augment")
    rate: float = option(1.0, "share of the spans of a copy that get another mention", flag="--augment-rate")

    def __post_init__(self):
        check([(self.copies >= 0, f"{{}} must be >= 0 (got {self.copies!r})", "copies"),
               (0 < self.rate <= 1, f"{{}} must be in (0, 1] (got {self.rate!r})", "rate")])
