"""Whole documents in, spans with document offsets out: read, split, predict across documents.

Documents come from a `.txt` file or folder (`text`), from annotated BRAT or i2b2 XML documents
(`brat`, `i2b2`: their annotations become the reference, never an input to the model) or from the
rows of a sentence CSV (`csv`, one row a document, not split). Each document is cut into sentences
by `sentences.split_sentences` (at line breaks and sentence ends), the sentences of many documents
are decoded together in length-sorted batches, and each predicted span is mapped back to the
document: `doc.text[span.start:span.end]` is the span's text, whatever the line endings, tabs,
blank lines or trailing spaces of the file.

A document that cannot be read (not UTF-8, empty) is named in a warning and skipped; only when no
document is left is it an error (`DocumentError`).
"""
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Sequence, Tuple, Union

import pandas as pd

from .convert import Report, read_brat, read_i2b2
from .errors import UserError
from .restore import ScoredSpan
from .sentences import LANGS, split_sentences
from .tags import Span

__all__ = ["INPUT_FORMATS", "Document", "DocumentPrediction", "DocumentError", "read_documents",
           "sentence_offsets", "predict_documents"]

INPUT_FORMATS = ("csv", "text", "brat", "i2b2")
PathLike = Union[str, os.PathLike]


class DocumentError(UserError):
    "No document could be read, or an input option is wrong."


@dataclass
class Document:
    """One input document.

    doc_id: the file name without its extension (`text`, `brat`, `i2b2`) or the CSV row number.
    text: its exact text. ref: reference spans (annotated inputs), else None.
    fields: the other CSV columns of a `csv` row (kept in the CSV output), else empty.
    """
    doc_id: str
    text: str
    ref: Optional[List[Span]] = None
    fields: dict = field(default_factory=dict)


@dataclass
class DocumentPrediction:
    "A document, its predicted spans (document offsets, by start) and its sentences `(start, end)`."
    doc: Document
    spans: List[ScoredSpan]
    sentences: List[Tuple[int, int]]


# ---------------------------------------------------------------- reading

def _text_files(path: Path) -> List[Path]:
    "`path` itself or the `.txt` files of folder `path`, sorted; DocumentError when there are none."
    if path.is_file(): return [path]
    if not path.is_dir(): raise DocumentError(f"--input {path}: no such file or folder")
    res = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() == ".txt" and not f.name.startswith("."))
    if not res: raise DocumentError(f"--input {path}: the folder holds no .txt file")
    return res


def _read_text_doc(f: Path, warn: Callable[[str], None]) -> Optional[Document]:
    "One `.txt` document, or None (and a warning naming the file) when it is not UTF-8 or empty."
    raw = f.read_bytes()
    try: text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        warn(f"{f}: not UTF-8 (byte {e.start}: 0x{raw[e.start]:02x}); skipped")
        return None
    if text.startswith("\ufeff"): text = text[1:]   # a BOM is not part of the text (offsets start after it)
    if not text.strip():
        warn(f"{f}: empty document; skipped")
        return None
    return Document(f.stem, text)


def _annotated(path: Path, fmt: str, warn: Callable[[str], None]) -> List[Document]:
    "BRAT or i2b2 documents with their spans as the reference; bad documents warned and skipped."
    report = Report()
    try: docs = [Document(i, t, sorted(s)) for i, t, s in (read_brat if fmt == "brat" else read_i2b2)(path, report)]
    except UserError as e: raise DocumentError(f"--input {path}: {e}") from None
    for doc_id, why in report.docs_failed: warn(f"{path}: {doc_id}: {why}; skipped")
    res = []
    for d in docs:
        if d.text.strip(): res.append(d)
        else: warn(f"{path}: {d.doc_id}: empty document; skipped")
    return res


def _csv_docs(path: Path, src: str) -> List[Document]:
    "The rows of a sentence CSV as documents (id: the 1-based row number), every column kept."
    if not path.is_file(): raise DocumentError(f"--input {path}: no such file")
    try: df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as e: raise DocumentError(f"{path}: not UTF-8 (byte {e.start}); re-save it as UTF-8") from None
    except pd.errors.EmptyDataError: raise DocumentError(f"{path}: the file has no header or rows") from None
    if src not in df.columns: raise DocumentError(f"{path}: no column {src!r}; the file has {', '.join(map(repr, df.columns))}")
    return [Document(str(i + 1), row[src], None, dict(row)) for i, row in enumerate(df.to_dict("records"))]


def read_documents(path: PathLike, fmt: str, *, src: str = "orig_text",
                   warn: Callable[[str], None] = print) -> List[Document]:
    """Read the documents of `path` in input format `fmt` (one of INPUT_FORMATS).

    `src`: the text column of a `csv` input. Unreadable documents are passed to `warn` (one line
    each, naming the file) and skipped; DocumentError when none is left or `fmt` is unknown.
    """
    if fmt not in INPUT_FORMATS: raise DocumentError(f"--input-format {fmt!r}: choose one of {', '.join(INPUT_FORMATS)}")
    path = Path(path)
    if fmt == "csv": docs = _csv_docs(path, src)
    elif fmt == "text": docs = [d for d in (_read_text_doc(f, warn) for f in _text_files(path)) if d is not None]
    else: docs = _annotated(path, fmt, warn)
    if not docs: raise DocumentError(f"--input {path}: no document could be read")
    ids = [d.doc_id for d in docs]
    if len(set(ids)) < len(ids): raise DocumentError(f"--input {path}: two documents share an id (file name without extension)")
    return docs


# ---------------------------------------------------------------- splitting and predicting

def sentence_offsets(text: str, lang: str = "en") -> List[Tuple[int, int]]:
    """`(start, end)` of each sentence of `text`, as `sentences.split_sentences` cuts it (outer
    whitespace left out), so that `text[start:end]` is the sentence exactly."""
    res, pos = [], 0
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
