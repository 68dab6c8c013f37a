"""Documents -> spans -> outputs, redacted copies and a review page (scripts/predict.py, non-CSV paths).

`predict_docs` reads the input (`documents.read_documents`), checks every output can be written
before any decoding (none may touch the input), predicts (`documents.predict_documents`), marks repeats
(`repeats.with_repeats`), redacts (`redact.redact_spans`, in the model's language unless `--lang` says)
and writes the outputs (redacted copies of notes always as files), the review page (`review.review_html`)
and, with a reference, `metrics.json` (strict span P/R/F1, micro and per type, and the PHI scores) as
one set (`writers.write_outputs`).
"""
import dataclasses
import json
import sys
from pathlib import Path
from typing import Callable, NamedTuple, Optional

from ..formats.documents import DocumentError, read_documents
from ..formats.writers import OutputConfig, check_outputs, write_outputs
from ..text.tags import TagError, is_open, marker_type, parse
from .documents import predict_documents
from .locales import REDACT_LANGS
from .redact import RedactConfig, redact_spans
from .references import map_ref_spans, model_types, type_warning
from .repeats import RepeatConfig, with_repeats
from .review import review_html, span_metrics

__all__ = ["predict_docs", "deidentify", "Deidentified", "REF_ANNOTATIONS"]

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
                 log: Callable[[str], None] = print, ref_map: Optional[dict] = None, **options) -> dict:
    """Predict the documents of `input_path` and write what `out` asks for; returns a summary.

    input_format: csv (rows are documents, not split), text, brat or i2b2.
    ref: a CSV column of annotated references, or REF_ANNOTATIONS for brat/i2b2 input.
    repeats: marking the other occurrences of predicted strings in each document (`deid.repeats`;
        by default when redacting).
    ref_map: a type map (`references.load_ref_map`, e.g. of `--map meddocan`) applied to the reference.
    cfg, options: a `decode.DecodeConfig` and field overrides (decoder, beam_size, bs, ...).
    """
    documents, inputs = input_format != "csv", [("--input", input_path)]
    check_outputs(out, red.active, documents, inputs)
    if out.html: _check_html(out.html, out.overwrite)
    red = _for_model(red, learn)
    warn = lambda msg: print(f"warning: {msg}", file=sys.stderr)  # noqa: E731  (skipped files: one line each)
    docs = read_documents(input_path, input_format, src=src or learn.meta["src"], warn=warn)
    _attach_ref(docs, input_format, ref, input_path)
    for d in docs:
        if d.ref is not None: d.ref = map_ref_spans(d.text, d.ref, ref_map)
    extra = ([_metrics_path(out)] if ref is not None else []) + ([Path(out.html)] if out.html else [])
    check_outputs(out, red.active, documents, inputs, doc_ids=[d.doc_id for d in docs], extra=extra)  # before decoding
    preds, redacted, replacements = deidentify(learn, docs, red, cfg, split=documents, min_score=out.min_score,
                                               repeats=repeats, progress=True, warn=warn, **options)
    m, files = span_metrics(preds), {}
    if m is not None: files[_metrics_path(out)] = json.dumps(m, indent=2)
    if out.html: files[Path(out.html)] = review_html(preds, title=f"Predicted spans: {Path(input_path).name}",
                                                     replacements=replacements)
    paths = write_outputs(out, preds, redacted, replacements, documents=documents, extra=files,
                          warn=warn)  # every output in place together, or none
    if out.html: paths["html"] = Path(out.html)
    res = dict(documents=len(preds), spans=sum(len(p.spans) for p in preds),
               repeats=sum(s.origin == "repeat" for p in preds for s in p.spans),
               sentences=sum(len(p.sentences) for p in preds), outputs={k: str(v) for k, v in paths.items()})
    if m is not None:
        res["spans_metrics"] = _log_metrics(m, _metrics_path(out), log)
        note = type_warning([r.type for d in docs if d.ref for r in d.ref], model_types(learn))
        if note: warn(note)
    log(f"{res['documents']} document(s), {res['sentences']} sentence(s), {res['spans']} span(s) -> "
        + ", ".join(f"{k}: {v}" for k, v in res["outputs"].items()))
    return res


def _for_model(red: RedactConfig, learn) -> RedactConfig:
    """`red` in the model's language when it names none, its policy checked against the model's types."""
    if red.lang is None:
        lang = getattr(learn, "meta", {}).get("lang", "en")
        red = dataclasses.replace(red, lang=lang if lang in REDACT_LANGS else "en")
    if red.policy is not None:
        itos = getattr(getattr(getattr(getattr(learn, "data", None), "train_ds", None), "y", None), "vocab", None)
        red.policy.check_types({marker_type(t) for t in getattr(itos, "itos", []) if is_open(t)})
    return red


def _check_html(path, overwrite: bool):
    "Refuse an existing review page without --overwrite, or one whose folder is a file."
    p = Path(path)
    if p.exists() and not overwrite: raise DocumentError(f"--html {p}: the file exists; pass --overwrite to replace it")
    if any(q.is_file() for q in p.parents): raise DocumentError(f"--html {p}: a folder of that path is a file")


def _metrics_path(out: OutputConfig) -> Path:
    "Where the span scores go: metrics.json in the output folder, or OUT.metrics.json beside a CSV."
    o = Path(out.out)
    if out.formats != ["csv"]: return o / "metrics.json"
    return o.with_suffix(".metrics.json") if o.suffix == ".csv" else o.with_name(o.name + ".metrics.json")


def _log_metrics(m: dict, path: Path, log) -> dict:
    "Print the micro span scores (written with per type to `path`)."
    log(f"span P/R/F1 {m['precision']:.4f}/{m['recall']:.4f}/{m['f1']:.4f} (strict), PHI recall "
        f"{m['phi']['phi_recall']:.4f}, over-redaction {m['phi']['over_redaction']:.4f} (per type: {path})")
    return m


class Deidentified(NamedTuple):
    "What `deidentify` gives: the DocumentPredictions and, when redacting, the redacted texts and replacements."
    preds: list
    redacted: Optional[list]
    replacements: Optional[list]


def deidentify(learn, docs, red: RedactConfig, cfg=None, *, split: bool = True, min_score: float = 0.,
               repeats: RepeatConfig = RepeatConfig(), progress: bool = False, warn: Callable[[str], None] = print,
               **options) -> Deidentified:
    """The spans of the Documents `docs` (`documents.predict_documents`), the repeats of predicted
    strings (`repeats`) and the redacted copies (`red`, in the model's language unless it names one):
    the steps of `predict_docs` between reading and writing, for callers that bring their own documents
    (the service, seq2seq/serve; the archive engine, seq2seq/engine)."""
    red = _for_model(red, learn)
    preds = predict_documents(learn, docs, cfg, split=split, min_score=min_score, progress=progress, warn=warn,
                              **options)
    if repeats.active(red.active):
        for p in preds: p.spans = with_repeats(p.doc.text, p.spans, repeats)
    if not red.active: return Deidentified(preds, None, None)
    done = [redact_spans(p.doc.text, p.spans, red, p.doc.doc_id) for p in preds]
    return Deidentified(preds, [d.text for d in done], [d.replacements for d in done])
