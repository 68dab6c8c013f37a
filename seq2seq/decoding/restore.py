"""Turn texts into annotated texts (or back) with a trained model: batching, decoding, assembly.

In faithful mode (the default) the decoder may only re-emit the source with well-formed tag
markers (see `decode.FaithfulConstraint`), and the output string is assembled from the
*source string*: markers are inserted at the offsets of the source tokens they stand between.
So words the model never saw (`xxunk`) come back exactly and, for every decoder and every
string, `strip_tags(restore(text)) == text`: the source is escaped first (`tags.escape_text`),
so text that looks like a marker (`{{DATE}}`, `}}`) is text, written escaped in the output. For the reverse task (annotated -> plain) the faithful
output is the source with its markers removed. Without faithful mode the model generates
freely and its tokens are detokenized.

There is no fixed limit on the source length: `max_len` defaults to a multiple of each
source's own length (and faithful decoding always gets the steps it needs to finish); a text
of more than `max_tokens` tokens is decoded in windows (seq2seq/decoding/windows.py), faithfully.
"""
import math
from dataclasses import replace
from functools import partial
from typing import List, Optional, Sequence

import torch

from .. import compat  # noqa: F401  (before fastai)
from fastai.text.transform import BOS, EOS, PAD
from fastprogress.fastprogress import progress_bar

from ..models.faithful import FaithfulConstraint
from ..text.tags import ScoredSpan, close_marker, escape_text, is_close, is_marker, is_open, marker_type, strip_tags
from ..text.tokenizer import Piece, detokenize, is_control, pieces
from .config import DecodeConfig, decode_config
from .search import generate
from .windows import count_tokens, restore_windowed

__all__ = ["restore_texts", "assemble_faithful", "faithful_spans", "token_ids"]
_SPECIAL = {BOS, EOS, PAD}  # ids the decoder bans or stops at


def _tables(itos: Sequence[str]):
    "target stoi and the opening -> closing marker ids of a target vocabulary."
    stoi = {t: i for i, t in enumerate(itos)}
    o2c = {i: stoi[close_marker(marker_type(t))] for i, t in enumerate(itos)
           if is_open(t) and close_marker(marker_type(t)) in stoi}
    return stoi, o2c


def _insertions(src_pieces: List[Piece], out: Sequence[str]) -> list:
    """Where the markers of `out` go in the source: `(offset, marker, position in out or None)`,
    in pairs (open, close); None marks a close added for a span the output left open."""
    ins, ptr, last_end = [], 0, 0
    opn, n_in = None, 0  # the open marker's (offset, token, position) while a span is open; words copied since
    words = [p for p in src_pieces if not is_control(p.text) and not is_marker(p.text)]
    wi = 0  # words copied
    for k, tok in enumerate(out):
        if is_open(tok):
            opn, n_in = (words[wi].start if wi < len(words) else last_end, tok, k), 0
        elif is_close(tok):
            if opn is not None and n_in: ins += [opn, (last_end, tok, k)]
            opn = None
        else:
            p = src_pieces[ptr] if ptr < len(src_pieces) else None
            ptr += 1
            if p is not None and not is_control(p.text):
                last_end, wi, n_in = p.end, wi + 1, n_in + 1
    if opn is not None and n_in: ins += [opn, (last_end, close_marker(marker_type(opn[1])), None)]
    return ins


def faithful_spans(src_pieces: List[Piece], out: Sequence[str], token_logp: Sequence[float]) -> List[ScoredSpan]:
    """The spans `assemble_faithful` would insert, as offsets into the source string, each scored
    with the probability the decoder gave its two markers (`exp(logp(open) + logp(close))`; a
    span the output left open is scored by its open marker alone)."""
    ins = _insertions(src_pieces, out)
    res = []
    for (s, tok, i), (e, _, j) in zip(ins[::2], ins[1::2]):
        lp = token_logp[i] + (token_logp[j] if j is not None else 0.)
        res.append(ScoredSpan(s, e, marker_type(tok), math.exp(lp)))
    return res


def assemble_faithful(src: str, src_pieces: List[Piece], out: Sequence[str]) -> str:
    """Insert the markers of `out` (the decoded tokens) into `src` between the source tokens.

    `out` is the source's tokens in order with markers between them (what faithful decoding
    emits); a copied position holds whatever token the model emitted for it (e.g. 'xxunk'),
    the text always comes from `src`. An opening marker goes right before the next word, a
    closing one right after the last word copied. A span that holds no word (only whitespace
    controls, which the constraint allows) is dropped, as it has no place between words. A
    cut-short output keeps the rest of `src` and closes an open tag after the last word copied.
    """
    res, pos = [], 0
    # offsets never decrease along `out`: opens at a word's start, closes after it
    for off, tok, _ in _insertions(src_pieces, out):
        res += [src[pos:off], tok]
        pos = off
    return "".join(res + [src[pos:]])


def token_ids(stoi, toks: Sequence[str]) -> List[int]:
    "Ids of source tokens; a word spelled like BOS/EOS/pad would end or pad the sentence, so it reads as unknown (0)."
    return [0 if t in _SPECIAL else stoi.get(t, 0) for t in toks]


def _encode(learn, texts: Sequence[str], lang: str, strip_task: bool):
    "Source pieces, source ids and target copy ids of each text."
    src_stoi, tgt_stoi = learn.data.x.vocab.stoi, learn.data.y.vocab.stoi  # built once with the vocabularies
    own = getattr(learn.model, "numericalize", None)  # an open-vocabulary model numericalizes itself
    res = []
    for t in texts:
        ps = pieces(t, lang)
        kept = [p.text for p in ps if not (strip_task and is_marker(p.text))]
        res.append((ps, None if own else token_ids(src_stoi, [p.text for p in ps]), token_ids(tgt_stoi, kept)))
    if own:
        ids = own([[p.text for p in e[0]] for e in res])
        res = [(ps, i.tolist(), c) for (ps, _, c), i in zip(res, ids)]
    return res


def restore_texts(learn, texts: Sequence[Optional[str]], cfg: Optional[DecodeConfig] = None, *,
                  with_scores: bool = False, with_spans: bool = False, progress: bool = False, **options):
    """Decode `texts` with `learn`'s model.

    Args:
        texts: source strings; None/NaN give "", and whitespace-only texts come back as they are
            (faithful) or as "" (free), without decoding.
        cfg: a `decode.DecodeConfig`; `options` (its field names, e.g. `decoder="beam"`) replace
            its fields, or build one when `cfg` is None. Besides the decoder's own options:
            faithful: constrain output to the source (default: on).
            bs: sentences per batch (sorted by length to keep padding small).
        with_scores (or n_best > 1): return, per text, a list of `(text, score)` (n_best of them),
            best first, instead of one string; the score is the length-normalised log-probability
            for beam search, the plain one for the other decoders.
        with_spans: return, per text, `(text, spans)` for the best hypothesis instead, with
            `spans` a list of ScoredSpan in the source string (faithful restore task only).
    """
    c = decode_config(cfg, **options)
    meta, model = learn.model.meta, learn.model
    strip_task = meta["task"] == "strip"
    if with_spans and (strip_task or not c.faithful):
        raise ValueError("span offsets need faithful decoding with a model that adds tags (task 'restore')")
    itos = learn.data.y.vocab.itos
    _, o2c = _tables(itos)
    texts = ["" if t is None or (isinstance(t, float) and math.isnan(t)) else str(t) for t in texts]
    if c.max_tokens is not None and any(count_tokens(t) > c.max_tokens for t in texts):  # see seq2seq/decoding/windows.py
        again = partial(restore_texts, learn, cfg=replace(c, max_tokens=None), progress=progress)
        return restore_windowed(again, texts, c.max_tokens, c.n_best, with_scores)
    # a plain source is escaped first, so marker-like text in it is text (tags.escape_text)
    srcs = texts if strip_task else [escape_text(t) for t in texts]
    todo = sorted((i for i, t in enumerate(texts) if t.strip()), key=lambda i: len(texts[i]))
    # a blank text has nothing to tag: faithful output is the text itself, free output is empty
    res = [[(t if c.faithful else "", 0.0)] for t in texts]
    spans = [[] for _ in texts] if with_spans else None
    model.eval()
    dev = next(model.parameters()).device
    batches = [todo[i:i + c.bs] for i in range(0, len(todo), c.bs)]
    for b in (progress_bar(batches) if progress and batches else batches):
        _decode_batch(learn, srcs, b, c, o2c, strip_task, dev, res, spans)
    if with_spans: return [(r[0][0], sp) for r, sp in zip(res, spans)]
    if with_scores or c.n_best > 1: return res
    return [r[0][0] for r in res]


def _decode_batch(learn, texts, b: List[int], c: DecodeConfig, o2c: dict, strip_task: bool, dev, res: list,
                  spans: Optional[list] = None):
    "Decode the texts at indices `b`; put their `(text, score)` lists into `res` (and best spans into `spans`)."
    model, itos = learn.model, learn.data.y.vocab.itos
    key = "norm_score" if c.decoder == "beam" else "score"  # samples: their plain log-probability
    enc = _encode(learn, [texts[i] for i in b], model.meta["lang"], strip_task)
    ids = [e[1] or [0] for e in enc]
    sl = max(map(len, ids))
    src = torch.tensor([i + [model.pad_idx] * (sl - len(i)) for i in ids], dtype=torch.long, device=dev)  # (bs, sl)
    cons = (FaithfulConstraint([e[2] for e in enc], o2c, model.eos_idx, len(itos), allow_tags=not strip_task)
            if c.faithful else None)
    for i, e, hs in zip(b, enc, generate(model, src, c, constraint=cons)):
        hs = sorted(hs, key=lambda h: -getattr(h, key))  # best first by the score reported
        res[i] = [(_text(texts[i], e[0], [itos[t] for t in h.tokens], c.faithful, strip_task),
                   getattr(h, key)) for h in hs] or [(texts[i], float("-inf"))]
        if spans is not None and hs: spans[i] = faithful_spans(e[0], [itos[t] for t in hs[0].tokens], hs[0].token_logp)


def _text(src: str, src_pieces, out: List[str], faithful: bool, strip_task: bool) -> str:
    "The output string of one hypothesis."
    if not faithful: return detokenize(out)
    if strip_task: return strip_tags(src)  # the only output the constraint allows
    return assemble_faithful(src, src_pieces, out)
