"""Spans of whole documents: each document (formats/documents.py) is cut into sentences by
`sentences.split_sentences` (at line breaks and sentence ends), the sentences of many documents are
decoded together in length-sorted batches, and each predicted span is mapped back to the document:
`doc.text[span.start:span.end]` is the span's text, whatever the line endings, tabs, blank lines or
trailing spaces of the file.
"""
from dataclasses import dataclass
from typing import Callable, Iterable, List, Sequence, Tuple

from ..formats.documents import Document
from ..text.sentences import LANGS, split_sentences
from ..text.tags import ScoredSpan

__all__ = ["DocumentPrediction", "sentence_offsets", "predict_documents"]


@dataclass
class DocumentPrediction:
    "A document, its predicted spans (document offsets, by start) and its sentences `(start, end)`."
    doc: Document
    spans: List[ScoredSpan]
    sentences: List[Tuple[int, int]]


def sentence_offsets(text: str, lang: str = "en") -> List[Tuple[int, int]]:
    """`(start, end)` of each sentence of `text`, as `sentences.split_sentences` cuts it (outer
    whitespace and a leading BOM left out), so that `text[start:end]` is the sentence exactly."""
    res, pos = [], 0
    if text.startswith("\ufeff"): text = " " + text[1:]   # the model never sees the BOM; offsets still count it
    for piece, _ in split_sentences(text, [], lang):
        # pieces come in order and only whitespace lies between them, so the next match is the piece
        start = text.index(piece, pos)
        res.append((start, start + len(piece)))
        pos = start + len(piece)
    return res


def _units(docs: Sequence[Document], lang: str, split: bool) -> List[List[Tuple[int, int]]]:
    "The decoding units of each document: its sentences, or the whole text when not split."
    return [sentence_offsets(d.text, lang) if split else [(0, len(d.text))] for d in docs]


def _decodable(s: str) -> bool:
    "Inline markers cannot carry `{{` or `}}` in the text: such a sentence is left without spans."
    return "{{" not in s and "}}" not in s


def _groups(units: List[list], limit: int) -> Iterable[List[int]]:
    "Runs of consecutive documents holding at most `limit` sentences together (a longer one alone)."
    g, n = [], 0
    for i, us in enumerate(units):
        if g and n + len(us) > limit:
            yield g
            g, n = [], 0
        g.append(i)
        n += len(us)
    if g: yield g


def predict_documents(learn, docs: Sequence[Document], cfg=None, *, split: bool = True, min_score: float = 0.,
                      progress: bool = False, warn: Callable[[str], None] = print,
                      chunk_sentences: int = 20000, **options) -> List[DocumentPrediction]:
    """Predict the spans of `docs` with `learn` (faithful decoding; see `restore.restore_texts`).

    split: cut documents into sentences (`sentence_offsets`); False decodes each text whole.
    min_score: spans whose score (the probability of their two markers) is below it are dropped.
    cfg, options: a `decode.DecodeConfig` and field overrides (decoder, beam_size, bs, ...); the
        sentences of many documents are pooled, sorted by length and decoded `bs` at a time.
    chunk_sentences: most sentences decoded in one pool (bounds memory on large folders).
    """
    lang = learn.model.meta.get("lang", "en")
    units = _units(docs, lang if lang in LANGS else "en", split)
    spans: List[List[ScoredSpan]] = [[] for _ in docs]
    skipped = 0
    for g in _groups(units, chunk_sentences):
        flat = [(i, s, e) for i in g for s, e in units[i] if _decodable(docs[i].text[s:e])]
        skipped += sum(len(units[i]) for i in g) - len(flat)
        out = learn.restore([docs[i].text[s:e] for i, s, e in flat], cfg, with_spans=True, progress=progress,
                            **options)
        for (i, s, _), (_, sps) in zip(flat, out):
            spans[i] += [ScoredSpan(s + sp.start, s + sp.end, sp.type, sp.score) for sp in sps if sp.score >= min_score]
    if skipped: warn(f"{skipped} sentence(s) holding '{{{{' or '}}}}' left without spans (inline tags cannot carry them)")
    return [DocumentPrediction(d, sorted(sp), us) for d, sp, us in zip(docs, spans, units)]
