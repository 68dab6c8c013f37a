"""Whole documents in: a `.txt` file or folder (`text`), annotated BRAT or i2b2 XML documents
(`brat`, `i2b2`: their annotations become the reference, never an input to the model) or the rows of
a sentence CSV (`csv`, one row a document). `deid.documents` predicts their spans.

A document that cannot be read (not UTF-8, empty) is named in a warning and skipped; only when no
document is left is it an error (`DocumentError`).
"""
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Union

import pandas as pd

from ..errors import UserError
from ..text.tags import Span
from .readers import Report, _files, read_brat, read_i2b2

__all__ = ["INPUT_FORMATS", "Document", "DocumentError", "read_documents", "document_files"]

INPUT_FORMATS = ("csv", "text", "brat", "i2b2")
PathLike = Union[str, os.PathLike]


class DocumentError(UserError):
    "No document could be read, or an input option is wrong."


@dataclass
class Document:
    """One input document.

    doc_id: the file name without its extension (`text`, `brat`, `i2b2`) or the CSV row number.
    text: its exact text, as Python's utf-8 codec reads it (a leading BOM is its first character, so
        offsets agree with BRAT's). ref: reference spans (annotated inputs), else None.
    fields: the other CSV columns of a `csv` row (kept in the CSV output), else empty.
    """
    doc_id: str
    text: str
    ref: Optional[List[Span]] = None
    fields: dict = field(default_factory=dict)


# ---------------------------------------------------------------- reading

def _skip_reason(f: Path) -> Optional[str]:
    "Why the folder entry `f` is not a note to read (None: it is one); hidden entries are skipped unnamed."
    if f.name.startswith("."): return None
    if f.is_symlink() and not f.exists(): return "dangling symbolic link(s)"
    if f.is_dir(): return "subfolder(s) (not read: give each folder as its own --input)"
    if not f.is_file(): return "entry(ies) that are not regular files"
    if f.suffix.lower() != ".txt": return "file(s) without the .txt extension"
    return ""


def _text_files(path: Path, warn: Callable[[str], None] = print) -> List[Path]:
    """`path` itself or the `.txt` files of folder `path`, sorted; what else the folder holds is named
    in one warning per reason (hidden entries excepted). DocumentError when there is no note."""
    if path.is_file(): return [path]
    if not path.is_dir(): raise DocumentError(f"--input {path}: no such file or folder")
    res, skipped = [], {}
    for f in sorted(path.iterdir()):
        why = _skip_reason(f)
        if why == "": res.append(f)
        elif why: skipped.setdefault(why, []).append(f.name)
    for why, names in skipped.items():
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        warn(f"{path}: {len(names)} {why} skipped: {shown}")
    if not res: raise DocumentError(f"--input {path}: the folder holds no .txt file")
    return res


def _read_text_doc(f: Path, warn: Callable[[str], None]) -> Optional[Document]:
    "One `.txt` document, or None (and a warning naming the file) when it is not UTF-8 or empty."
    raw = f.read_bytes()
    try: text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        warn(f"{f}: not UTF-8 (byte {e.start}: 0x{raw[e.start]:02x}); skipped")
        return None
    # a leading BOM stays: offsets count it, as Python's utf-8 reading and BRAT's .ann offsets do
    if not text.lstrip("\ufeff").strip():
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
    elif fmt == "text": docs = [d for d in (_read_text_doc(f, warn) for f in _text_files(path, warn)) if d is not None]
    else: docs = _annotated(path, fmt, warn)
    if not docs: raise DocumentError(f"--input {path}: no document could be read")
    ids = [d.doc_id for d in docs]
    if len(set(ids)) < len(ids): raise DocumentError(f"--input {path}: two documents share an id (file name without extension)")
    return docs


def document_files(path: PathLike, fmt: str) -> List[Path]:
    """The files the documents of `path` (input format text, brat or i2b2) are read from, in the order
    `read_documents` reads them (`.txt`, `.ann`, `.xml`); `read_documents(file, fmt)` reads one alone."""
    if fmt == "text": return _text_files(Path(path))
    if fmt not in ("brat", "i2b2"): raise DocumentError(f"--input-format {fmt!r}: not a format of document files")
    try: return _files(path, (".ann",) if fmt == "brat" else (".xml",))
    except UserError as e: raise DocumentError(f"--input {path}: {e}") from None
