"""Documents -> spans -> outputs, redacted copies and a review page (scripts/predict.py, non-CSV paths).

`predict_docs` reads the input (`documents.read_documents`), checks every output can be written
before any decoding, predicts (`documents.predict_documents`), redacts (`redact.redact`), writes
the outputs atomically (`writers.write_outputs`), the review page (`review.write_review`) and,
with a reference, `metrics.json` (strict span P/R/F1, micro and per type).
"""
import json
import sys
from pathlib import Path
from typing import Callable, Optional

from ..formats.documents import DocumentError, read_documents
from ..formats.writers import OutputConfig, check_outputs, write_outputs
from ..text.tags import TagError, parse
from .documents import predict_documents
from .redact import RedactConfig, redact
from .repeats import RepeatConfig, with_repeats
from .review import span_metrics, write_review

__all__ = ["predict_docs", "deidentify", "REF_ANNOTATIONS"]

REF_ANNOTATIONS = "annotations"   # --ref value meaning: the annotations of brat/i2b2 input


def _attach_ref(docs, fmt: str, ref: Optional[str], path):
    "Keep the reference spans asked for: a CSV column parsed, the annotations of brat/i2b2, or none."
    if ref is None:
        for d in docs: d.ref = None
        return
    if fmt in ("text",): raise DocumentError("--ref: plain text input holds no reference")
    if fmt != "csv": return
    for d in docs:
        if ref not in d.fields: raise DocumentError(f"{path}: no reference column {ref!r}")
        if not d.fields[ref].strip():    # an empty reference cell: this row is not scored
            d.ref = None
            continue
        try: plain, spans = parse(d.fields[ref])
        except TagError as e: raise DocumentError(f"{path}: column {ref!r}, row {d.doc_id}: {e}") from None
        if plain != d.text: raise DocumentError(f"{path}: column {ref!r}, row {d.doc_id}: its text differs from the source")
        d.ref = spans


def predict_docs(learn, input_path, input_format: str, out: OutputConfig, red: RedactConfig, cfg=None, *,
                 src: Optional[str] = None, ref: Optional[str] = None, repeats: RepeatConfig = RepeatConfig(),
                 log: Callable[[str], None] = print, **options) -> dict:
    """Predict the documents of `input_path` and write what `out` asks for; returns a summary.

    input_format: csv (rows are documents, not split), text, brat or i2b2.
    ref: a CSV column of annotated references, or REF_ANNOTATIONS for brat/i2b2 input.
    repeats: marking the other occurrences of predicted strings in each document (`deid.repeats`;
        by default when redacting).
    cfg, options: a `decode.DecodeConfig` and field overrides (decoder, beam_size, bs, ...).
    """
    check_outputs(out, red.mode != "none")
    if out.html: _check_html(out.html, out.overwrite)
    warn = lambda msg: print(f"warning: {msg}", file=sys.stderr)  # noqa: E731  (skipped files: one line each)
    docs = read_documents(input_path, input_format, src=src or learn.meta["src"], warn=warn)
    _attach_ref(docs, input_format, ref, input_path)
    preds = predict_documents(learn, docs, cfg, split=input_format != "csv", min_score=out.min_score,
                              progress=True, warn=warn, **options)
    if repeats.active(red.mode != "none"):
        for p in preds: p.spans = with_repeats(p.doc.text, p.spans, repeats)
    redacted = None if red.mode == "none" else [redact(p.doc.text, p.spans, red, p.doc.doc_id) for p in preds]
    paths = write_outputs(out, preds, redacted)
    if out.html:
        Path(out.html).parent.mkdir(parents=True, exist_ok=True)
        paths["html"] = write_review(out.html, preds, title=f"Predicted spans: {Path(input_path).name}")
    res = dict(documents=len(preds), spans=sum(len(p.spans) for p in preds),
               repeats=sum(s.origin == "repeat" for p in preds for s in p.spans),
               sentences=sum(len(p.sentences) for p in preds), outputs={k: str(v) for k, v in paths.items()})
    m = span_metrics(preds)
    if m is not None: res["spans_metrics"] = _write_metrics(m, out, log)
    log(f"{res['documents']} document(s), {res['sentences']} sentence(s), {res['spans']} span(s) -> "
        + ", ".join(f"{k}: {v}" for k, v in res["outputs"].items()))
    return res


def _check_html(path, overwrite: bool):
    "Refuse an existing review page without --overwrite, or one whose folder is a file."
    p = Path(path)
    if p.exists() and not overwrite: raise DocumentError(f"--html {p}: the file exists; pass --overwrite to replace it")
    if any(q.is_file() for q in p.parents): raise DocumentError(f"--html {p}: a folder of that path is a file")


def _write_metrics(m: dict, out: OutputConfig, log) -> dict:
    "Print the micro span scores and write them (with per type) next to the outputs."
    o = Path(out.out)
    if out.formats != ["csv"]: path = o / "metrics.json"
    else: path = o.with_suffix(".metrics.json") if o.suffix == ".csv" else o.with_name(o.name + ".metrics.json")
    path.write_text(json.dumps(m, indent=2))
    log(f"span P/R/F1 {m['precision']:.4f}/{m['recall']:.4f}/{m['f1']:.4f} (strict), PHI recall "
        f"{m['phi']['phi_recall']:.4f}, over-redaction {m['phi']['over_redaction']:.4f} (per type: {path})")
    return m


def deidentify(learn, docs, red: RedactConfig, cfg=None, *, split: bool = True, min_score: float = 0.,
               repeats: RepeatConfig = RepeatConfig(), progress: bool = False, warn: Callable[[str], None] = print,
               **options):
    """`(predictions, redacted texts or None)` of the Documents `docs`: their spans
    (`documents.predict_documents`), the repeats of predicted strings (`repeats`) and the redacted
    copies (`red`): the steps of `predict_docs` between reading and writing, for callers that bring
    their own documents (the service, seq2seq/serve; the archive engine, seq2seq/engine)."""
    preds = predict_documents(learn, docs, cfg, split=split, min_score=min_score, progress=progress, warn=warn,
                              **options)
    if repeats.active(red.mode != "none"):
        for p in preds: p.spans = with_repeats(p.doc.text, p.spans, repeats)
    redacted = None if red.mode == "none" else [redact(p.doc.text, p.spans, red, p.doc.doc_id) for p in preds]
    return preds, redacted
