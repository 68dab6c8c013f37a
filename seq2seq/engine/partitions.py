"""An archive job and its partitions.

A `Job` is what `seq2seq-predict` was asked (model, input, outputs, decoding, redaction); `plan`
cuts its input into `Partition`s, in input order:

- documents (`text`, `brat`, `i2b2`): runs of `partition_size` files (`documents.document_files`);
  each worker reads its own files, so the driver never holds the notes;
- rows of a CSV: chunks of `partition_size` rows, read as `seq2seq-predict` reads them (the plain
  CSV path: `predict_csv.read_chunks`; rows as documents: `documents.read_documents`).

Each partition has a `key`, a digest of what it holds (file names, sizes and times, or the rows'
text), and the job has a `fingerprint` (model file digest, input, options): a rerun reuses a
finished partition only when both match, so a changed model or option never mixes old parts in.
"""
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from ..decoding.config import DecodeConfig
from ..deid.redact import RedactConfig
from ..deid.repeats import RepeatConfig

__all__ = ["Job", "Partition", "plan", "PARTS"]

PARTS = "parts"   # the folder of partition outputs (inside --out, or beside a CSV --out as OUT.parts)


@dataclass(frozen=True)
class Job:
    """One seq2seq-predict run, as the engine runs it.

    plain: the plain CSV path (CSV in, `pred_col` added, CSV out); else the document path (notes or
    rows as documents -> `formats` in the folder `out`, redacted copies with `redact`).
    """
    model: str
    input: str
    input_format: str
    out: str
    decode: DecodeConfig
    plain: bool = False
    formats: Tuple[str, ...] = ("jsonl",)
    redact: RedactConfig = field(default_factory=RedactConfig)
    repeats: RepeatConfig = field(default_factory=RepeatConfig)
    min_score: float = 0.0
    src: Optional[str] = None
    pred_col: str = "prediction"
    sep: Optional[str] = None
    overwrite: bool = False
    overwrite_column: bool = False
    trust: bool = False
    device: Optional[str] = None
    threads: int = 1

    @property
    def parts_dir(self) -> Path:
        "Where the partitions' outputs go."
        o = Path(self.out)
        return o.with_name(o.name + ".parts") if self.plain else o / PARTS

    def fingerprint(self) -> str:
        "A digest of everything the outputs depend on (model file contents, input, options)."
        h = hashlib.sha256()
        with open(_model_file(self.model), "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""): h.update(block)
        opts = {k: v for k, v in dataclasses.asdict(self).items()
                if k not in ("overwrite", "trust", "device", "threads", "out", "model")}
        h.update(json.dumps(opts, sort_keys=True, default=str).encode())
        return h.hexdigest()[:32]


@dataclass
class Partition:
    """Partition `index` of a job: document `files`, or CSV rows (`rows`, a DataFrame of strings, for
    the plain path; `docs`, Documents, for rows as documents). `key`: a digest of what it holds."""
    index: int
    key: str
    files: List[str] = field(default_factory=list)
    rows: object = None
    docs: list = field(default_factory=list)
    sep: Optional[str] = None   # the CSV delimiter of `rows`

    @property
    def name(self) -> str:
        return f"part-{self.index:05d}"

    @property
    def size(self) -> int:
        "Documents or rows it holds."
        return len(self.files) or len(self.docs) or (0 if self.rows is None else len(self.rows))


def _model_file(model: str) -> Path:
    "The model file `model` names (a folder stands for its model.safetensors, else export.pkl)."
    p = Path(model)
    if p.is_dir():
        safe = p / "model.safetensors"
        return safe if safe.is_file() else p / "export.pkl"
    return p


def _digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:24]


def plan(job: Job, size: int, src: str) -> Tuple[int, Iterator[Partition]]:
    """`(how many, the partitions)` of `job`'s input, in input order, `size` documents or rows each
    (`src`: the text column of CSV input). Bad input (no such file, no document, a bad CSV) raises a
    UserError here, before any work is sent out; the rows of a plain CSV are read as they are used."""
    if job.input_format == "csv" and job.plain: return _plain_rows(job, size, src)
    parts = list(_doc_rows(job, size, src) if job.input_format == "csv" else _files(job, size))
    return len(parts), iter(parts)


def _files(job: Job, size: int) -> Iterator[Partition]:
    "Runs of `size` document files."
    from ..formats.documents import document_files
    files = document_files(job.input, job.input_format)
    for k in range(0, len(files), size):
        group = files[k:k + size]
        stats = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in group]
        yield Partition(k // size, _digest(stats), files=[str(f) for f in group])


def _plain_rows(job: Job, size: int, src: str) -> Tuple[int, Iterator[Partition]]:
    "Chunks of rows, read exactly as predict_csv reads them (delimiter, header, checks)."
    from ..deid.predict_csv import check_output, inspect_input
    from ..errors import DataError
    check_output(job.out)
    added = [job.pred_col] + ([f"{job.pred_col}_nbest"] if job.decode.n_best > 1 else [])
    sep, header, total = inspect_input(Path(job.input), src, None, job.sep, added, job.overwrite_column)
    if total == 0: raise DataError(f"{job.input}: no rows")
    return -(-total // size), _chunks(job, sep, header, size)


def _chunks(job: Job, sep: str, header: list, size: int) -> Iterator[Partition]:
    from ..deid.predict_csv import read_chunks
    for i, chunk in enumerate(read_chunks(Path(job.input), sep, header, size)):
        yield Partition(i, _digest(list(chunk.columns), chunk.fillna("\x00").values.tolist()), rows=chunk, sep=sep)


def _doc_rows(job: Job, size: int, src: str) -> Iterator[Partition]:
    "The rows of a CSV as documents (as seq2seq-predict --input-format csv reads them), `size` at a time."
    from ..formats.documents import read_documents
    docs = read_documents(job.input, "csv", src=src)
    for k in range(0, len(docs), size):
        group = docs[k:k + size]
        yield Partition(k // size, _digest([(d.doc_id, d.text, d.fields) for d in group]), docs=group)
