"""Label models: turn the labelling functions' overlapping votes into one set of silver spans.

Two aggregators from skweak (which works on spaCy `Doc`s with spans per source):

- `vote`: token-level majority vote (`skweak.voting.SequentialMajorityVoter`);
- `hmm`: skweak's hidden Markov model, fitted by EM without any gold label, which learns how
  often each function is right for each label and weighs its votes accordingly.

Each text is cut into tokens at word boundaries *and* at every start and end of every
function's spans, so every vote lines up with whole tokens and the aggregated spans map back to
exact character offsets of the text. A text longer than `window` characters (a whole note in one
cell) is labelled in windows cut at line and sentence ends outside every vote, and windows where
no function voted are skipped: every step costs time in proportion to the text's length. A generic type such as `ID` next to specific ones
(`ID:MEDICALRECORD`) takes the subtype of an overlapping specific vote (`resolve_underspecified`).
The silver pairs are then written with `tags.annotate`
from the source string, so `strip_tags(annotated_text) == orig_text` by construction.
"""
import contextlib
import io
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import List, Optional, Sequence

import pandas as pd

from ..config import check, int_ge, option
from ..errors import UserError
from ..text.tags import Span, annotate, strip_tags
from .functions import Votes, touching

__all__ = ["LABEL_MODELS", "LabelModelConfig", "token_cuts", "windows", "split_labels", "resolve_underspecified",
           "FittedLabelModel", "fit_label_model", "aggregate", "silver_pairs"]

LABEL_MODELS = ("hmm", "vote")
_WORD = re.compile(r"\w+|[^\w\s]")


@dataclass
class LabelModelConfig:
    "How to aggregate the votes: the method, EM iterations for the HMM, which functions to use."
    method: str = option("hmm", "hmm: skweak's HMM learns each function's accuracy without gold; vote: token-level "
                                "majority vote", choices=LABEL_MODELS, flag="--label-model")
    n_iter: int = option(4, "EM iterations of the HMM")
    window: int = option(10_000, "a text longer than this many characters is labelled in windows of about this size, "
                                 "cut at line and sentence ends outside every vote (windows where no function voted are "
                                 "skipped), so the cost grows linearly with its length", flag="--label-window")
    sources: Optional[Sequence[str]] = option(None, "names of the functions to aggregate (None: all)", cli=False)

    def __post_init__(self):
        check([(self.method in LABEL_MODELS, f"{{}} must be one of {', '.join(LABEL_MODELS)} (got {self.method!r})",
                "method"),
               (int_ge(self.n_iter, 1), f"{{}} must be >= 1 (got {self.n_iter!r})", "n_iter"),
               (int_ge(self.window, 100), f"{{}} must be >= 100 (got {self.window!r})", "window")])


def token_cuts(text: str, spans: Sequence[Span]) -> List[tuple]:
    """`(start, end)` of each token of `text`: word and punctuation pieces, cut again at every
    span boundary in `spans` (so each span covers whole tokens)."""
    cuts = sorted({b for sp in spans for b in (sp.start, sp.end)})
    res = []
    for m in _WORD.finditer(text):
        s, e = m.span()
        inner = cuts[bisect_right(cuts, s):bisect_left(cuts, e)]  # the cuts strictly inside: O(log n) a token
        for a, b in zip([s] + inner, inner + [e]): res.append((a, b))
    return res


def _trim(text: str, sp: Span) -> Span:
    "`sp` without the whitespace at its ends (tokens never include whitespace)."
    s, e = sp.start, sp.end
    while s < e and text[s].isspace(): s += 1
    while e > s and text[e - 1].isspace(): e -= 1
    return Span(s, e, sp.type)


def _doc(vocab, text: str, votes: dict):
    "A spaCy Doc of `text`'s tokens with one span group per function; also the tokens' char offsets."
    from spacy.tokens import Doc, Span as SpacySpan
    toks = token_cuts(text, [_trim(text, sp) for spans in votes.values() for sp in spans])
    doc = Doc(vocab, words=[text[s:e] for s, e in toks] or [" "])
    starts = {s: i for i, (s, _) in enumerate(toks)}
    ends = {e: i + 1 for i, (_, e) in enumerate(toks)}
    for name, spans in votes.items():
        spans = [_trim(text, sp) for sp in spans]  # a span of whitespace only has no token: no vote
        doc.spans[name] = [SpacySpan(doc, starts[sp.start], ends[sp.end], label=sp.type) for sp in spans
                           if sp.start in starts and sp.end in ends]
    return doc, toks


_CUT = re.compile(r"(?<=\n)|(?<=[.!?;])(?=\s)")  # where a window may end: after a line break, after a sentence end


def windows(text: str, spans: Sequence[Span], size: int) -> List[tuple]:
    """`(start, end)` pieces covering `text`: the whole text when it has at most `size` characters, else
    pieces of about `size` cut after line breaks and sentence ends that lie inside no span of `spans`
    (a piece grows past `size` only when there is no such place)."""
    if len(text) <= size: return [(0, len(text))]
    covered = []  # merged (start, end) of the spans: a cut never falls inside one
    for sp in sorted(spans):
        if covered and sp.start < covered[-1][1]: covered[-1][1] = max(covered[-1][1], sp.end)
        else: covered.append([sp.start, sp.end])
    starts = [c[0] for c in covered]
    cuts = []
    for m in _CUT.finditer(text):
        p, k = m.start(), bisect_right(starts, m.start()) - 1
        if 0 < p < len(text) and not (k >= 0 and covered[k][0] < p < covered[k][1]): cuts.append(p)
    res, start = [], 0
    while start < len(text):
        k = bisect_right(cuts, start + size) - 1
        end = cuts[k] if k >= 0 and cuts[k] > start else next(iter(cuts[bisect_right(cuts, start + size):]), len(text))
        res.append((start, end))
        start = end
    return res


def _pieces(text: str, row: dict, size: int) -> List[tuple]:
    """`(offset, piece, votes)` to label for one text and its votes `{name: spans}`: the text itself when it
    is short; else its `windows` where some function voted, with the spans moved to the piece's offsets."""
    if len(text) <= size: return [(0, text, row)]
    wins = windows(text, [sp for spans in row.values() for sp in spans], size)
    ends, res = [e for _, e in wins], [dict() for _ in wins]
    for name, spans in row.items():
        for sp in spans:
            k = bisect_right(ends, sp.start)
            res[k].setdefault(name, []).append(Span(sp.start - wins[k][0], sp.end - wins[k][0], sp.type))
    return [(a, text[a:b], {n: r.get(n, []) for n in row}) for (a, b), r in zip(wins, res) if r]


def split_labels(types) -> tuple:
    """`(labels, groups)`: a type without a subtype, such as `ID`, is *underspecified* when
    subtypes of it (`ID:MEDICALRECORD`, ...) are among `types`; `groups` maps it to them."""
    types = sorted(set(types))
    groups = {t: {u for u in types if u.startswith(t + ":")} for t in types if ":" not in t}
    return types, {t: subs for t, subs in groups.items() if subs}


def resolve_underspecified(votes: Votes) -> Votes:
    """`votes` where a span of an underspecified type (`ID`) that overlaps other functions' spans
    of exactly one of its subtypes (`ID:MEDICALRECORD`) takes that subtype: the generic function
    then agrees with the specific one instead of competing with it. Elsewhere it stays as it is."""
    _, groups = split_labels(sp.type for rows in votes.spans.values() for spans in rows for sp in spans)
    if not groups: return votes
    res = {name: [] for name in votes.spans}
    for i in range(len(votes.texts)):
        row = {name: rows[i] for name, rows in votes.spans.items()}
        touch = touching(row)
        for name, spans in row.items():
            out = []
            for sp in spans:
                if sp.type in groups:
                    subs = {o.type for other, o in touch.get((name, sp), ()) if o.type in groups[sp.type]}
                    if len(subs) == 1: sp = Span(sp.start, sp.end, subs.pop())
                out.append(sp)
            res[name].append(out)
    return Votes(votes.texts, res, votes.errors, votes.families, votes.failures)


def _aggregator(cfg: LabelModelConfig, types):
    "The skweak aggregator for `cfg.method` over the labels `types`."
    labels = sorted(set(types))
    if cfg.method == "hmm":
        from skweak.generative import HMM
        return HMM("silver", labels)
    if cfg.method == "vote":
        from skweak.voting import SequentialMajorityVoter
        return SequentialMajorityVoter("silver", labels)
    raise UserError(f"--label-model {cfg.method!r}: choose one of {', '.join(LABEL_MODELS)}")


@dataclass
class FittedLabelModel:
    "A skweak aggregator ready to apply, and the functions it reads."
    agg: object
    names: List[str]


def fit_label_model(votes: Votes, cfg: LabelModelConfig = LabelModelConfig()) -> Optional[FittedLabelModel]:
    """The aggregator of `cfg.method`; the HMM is fitted by EM on `votes` (no gold). None when no
    function fired on any text."""
    from spacy.vocab import Vocab
    votes = resolve_underspecified(votes)
    names = [n for n in votes.names if cfg.sources is None or n in cfg.sources]
    types = {sp.type for n in names for spans in votes.spans[n] for sp in spans}
    if not types: return None
    agg, vocab = _aggregator(cfg, types), Vocab()
    if cfg.method == "hmm":
        docs = [_doc(vocab, piece, pv)[0] for i, t in enumerate(votes.texts) if t
                for _, piece, pv in _pieces(t, {n: votes.spans[n][i] for n in names}, cfg.window)]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):  # skweak prints each EM step
            agg.fit(docs, n_iter=cfg.n_iter)
    return FittedLabelModel(agg, names)


def _confidence(probs: dict, n_tok: int, out: List[tuple]) -> float:
    """The least probable token decision: for tokens in an output span, the posterior of the
    label it got; elsewhere the posterior of no label (one minus the listed labels)."""
    tag = {}
    for s, e, lab in out:
        for i in range(s, e): tag[i] = ("B-" if i == s else "I-") + lab
    conf = 1.0
    for i in range(n_tok):
        p = probs.get(i, {})
        conf = min(conf, float(p.get(tag[i], 0.0)) if i in tag else 1.0 - float(sum(p.values())))
    return max(conf, 0.0)


def aggregate(votes: Votes, cfg: LabelModelConfig = LabelModelConfig(), fit_on: Optional[Votes] = None,
              model: Optional[FittedLabelModel] = None, log=print) -> tuple:
    """Silver spans and a confidence per text: `(spans, confidence)`, two lists aligned with `votes.texts`.

    Uses `model` when given, else fits one (`fit_label_model`) on `fit_on` (default: `votes`
    itself). Texts where no function fired get no spans and confidence 1.
    """
    from spacy.vocab import Vocab
    model = model or fit_label_model(fit_on or votes, cfg)
    votes = resolve_underspecified(votes)
    if model is None:
        log("no labelling function fired on any text: every row gets no spans")
        return [[] for _ in votes.texts], [1.0] * len(votes.texts)
    vocab, names = Vocab(), [n for n in model.names if n in votes.spans]
    spans, confs = [], []
    for i, t in enumerate(votes.texts):
        row = {n: votes.spans[n][i] for n in names}
        found, conf = [], 1.0
        if t and any(row.values()):
            for off, piece, pv in _pieces(t, row, cfg.window):
                got, c = _label_piece(model, vocab, piece, pv)
                found += [Span(sp.start + off, sp.end + off, sp.type) for sp in got]
                conf = min(conf, c)
        spans.append(sorted(found))
        confs.append(conf)
    return spans, confs


def _label_piece(model: FittedLabelModel, vocab, text: str, row: dict) -> tuple:
    "The silver spans of one text (or window) and the confidence of its least certain token."
    if not any(row.values()): return [], 1.0
    doc, toks = _doc(vocab, text, row)
    doc = model.agg(doc)
    out = [(sp.start, sp.end, sp.label_) for sp in doc.spans["silver"]]
    spans = [Span(toks[s][0], toks[e - 1][1], lab) for s, e, lab in out]
    return spans, _confidence(doc.spans["silver"].attrs["probs"], len(toks), out)


def silver_pairs(votes: Votes, spans: Sequence[List[Span]], confs: Sequence[float], log=print) -> pd.DataFrame:
    """The pair table `orig_text, annotated_text, confidence` written from each source string with
    `tags.annotate`, so each annotated text strips back to its source exactly. Empty texts are left
    out, and so are texts containing `{{` or `}}` (counted in the log)."""
    rows, marked = [], 0
    for t, sp, c in zip(votes.texts, spans, confs):
        if not t: continue
        a = annotate(t, sp)
        if strip_tags(a) != t or "{{" in t or "}}" in t:  # marker-like text would not strip back
            marked += 1
            continue
        rows.append((t, a, round(c, 4)))
    if marked: log(f"{marked} rows skipped: their text contains '{{{{' or '}}}}', which the pair format reserves for tags")
    return pd.DataFrame(rows, columns=["orig_text", "annotated_text", "confidence"])
