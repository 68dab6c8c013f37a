"""The work of one partition, on a Dask worker (or in any process): predict it, write its output
atomically under the job's parts folder, and mark it done.

The model is loaded once per worker process (`learner` keeps it) with the job's torch threads.
A partition runs the code `seq2seq-predict` runs in one process: `predict_csv.predict_chunk` for the
rows of a plain CSV, `pipeline.deidentify` + `writers.write_outputs` for documents, so its output is
what the single-process run writes for those rows or notes. A document that cannot be read, decoded
or written is reported by name (`errors` of the summary) and left out; the others are kept.
The marker `part-NNNNN.json` (the job's fingerprint, the partition's key, the summary) is written
last: a partition without it, or with another job's, is not done.
"""
import json
import os
import resource
from pathlib import Path
from typing import List, Optional, Tuple

from ..utils import atomic_write
from .partitions import Job, Partition

__all__ = ["run_partition", "learner", "is_done", "marker_path", "read_marker"]

_LEARNERS: dict = {}
_LOADS = {"n": 0}


def learner(job: Job):
    "The job's model, loaded on this worker's first partition and kept for the others."
    key = (job.model, job.device, job.trust)
    if key not in _LEARNERS:
        from ..training.device import set_threads
        from ..training.learner import load_seq2seq
        set_threads(job.threads)
        _LEARNERS.clear()
        _LEARNERS[key] = load_seq2seq(job.model, device=job.device, trust=job.trust)
        _LOADS["n"] += 1
    return _LEARNERS[key]


def marker_path(parts_dir: Path, part: Partition) -> Path:
    return Path(parts_dir) / f"{part.name}.json"


def read_marker(parts_dir: Path, part: Partition) -> Optional[dict]:
    "The marker of a finished partition, or None."
    p = marker_path(parts_dir, part)
    try: return json.loads(p.read_text())
    except (OSError, ValueError): return None


def is_done(parts_dir: Path, part: Partition, fingerprint: str) -> bool:
    "True when `part` was finished by this very job (same fingerprint, same contents)."
    m = read_marker(parts_dir, part)
    return m is not None and m.get("fingerprint") == fingerprint and m.get("key") == part.key


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def run_partition(job: Job, part: Partition, fingerprint: str) -> dict:
    """Predict partition `part` of `job` and write it under `job.parts_dir`; returns its summary
    (documents or rows, sentences, spans, errors, warnings, this worker's pid, model loads, CPU seconds).
    A partition already done by this job is not redone (a retried task after a lost worker)."""
    parts = job.parts_dir
    if is_done(parts, part, fingerprint): return dict(read_marker(parts, part)["summary"], skipped=True)
    learn = learner(job)
    c0 = _cpu()   # decoding and writing only: the model's loading is counted once, not per partition
    summary = _plain(job, part, learn) if job.plain else _documents(job, part, learn)
    summary.update(partition=part.index, pid=os.getpid(), loads=_LOADS["n"], cpu_s=round(_cpu() - c0, 3))
    atomic_write(marker_path(parts, part), lambda p: p.write_text(
        json.dumps(dict(fingerprint=fingerprint, key=part.key, summary=summary), ensure_ascii=False)))
    return summary


def _plain(job: Job, part: Partition, learn) -> dict:
    "Rows of a plain CSV: the prediction column added as predict_csv adds it, written as it writes them."
    from ..deid.predict_csv import predict_chunk
    from ..formats.csvio import QUOTING
    chunk = part.rows
    predict_chunk(learn, chunk, job.src or learn.meta["src"], job.pred_col, job.decode)
    atomic_write(job.parts_dir / f"{part.name}.csv",
                 lambda p: chunk.to_csv(p, header=part.index == 0, index=False, sep=part.sep, quoting=QUOTING))
    return dict(rows=len(chunk), documents=0, sentences=len(chunk), spans=0, errors=[], warnings=[])


def _documents(job: Job, part: Partition, learn) -> dict:
    "Notes (or rows as documents): spans, repeats, redaction, the job's formats in the partition's folder."
    from ..formats.writers import OutputConfig, write_outputs
    warnings: List[str] = []
    docs, errors = _read(job, part) if part.files else (list(part.docs), [])
    preds, redacted, reps = _predict(job, learn, docs, errors, warnings.append)
    preds, redacted, reps = _writable(job, preds, redacted, reps, errors)
    if preds:
        write_outputs(OutputConfig(str(job.parts_dir / part.name), list(job.formats), overwrite=True), preds, redacted,
                      reps, documents=job.input_format != "csv")
    return dict(rows=0, documents=len(preds), sentences=sum(len(p.sentences) for p in preds),
                spans=sum(len(p.spans) for p in preds), errors=errors, warnings=warnings)


def _read(job: Job, part: Partition) -> Tuple[list, list]:
    "The partition's documents, each file read alone; one that cannot be read is an error naming it."
    from ..errors import UserError
    from ..formats.documents import read_documents
    docs, errors = [], []
    for f in part.files:
        said: List[str] = []
        try: docs += read_documents(f, job.input_format, warn=said.append)
        except UserError as e: errors.append(dict(document=Path(f).stem, file=f, reason=said[0] if said else str(e)))
        else: errors += [dict(document=Path(f).stem, file=f, reason=w) for w in said]
    return docs, errors


def _predict(job: Job, learn, docs: list, errors: list, warn) -> Tuple[list, Optional[list], Optional[list]]:
    "`pipeline.deidentify` on all of `docs`; if that fails, on each alone, so one bad note costs only itself."
    from ..deid.pipeline import deidentify
    run = lambda ds: deidentify(learn, ds, job.redact, job.decode, split=job.input_format != "csv",  # noqa: E731
                                min_score=job.min_score, repeats=job.repeats, warn=warn)
    try: return run(docs)
    except Exception:  # noqa: BLE001  (find the note that failed; every other one is kept)
        pass
    preds, redacted, reps = [], [], []
    for d in docs:
        try: p, r, x = run([d])
        except Exception as e:  # noqa: BLE001
            errors.append(dict(document=d.doc_id, reason=f"{type(e).__name__}: {e}"))
            continue
        preds += p
        redacted += r or [None]
        reps += x or [None]
    return (preds, redacted, reps) if job.redact.active else (preds, None, None)


def _writable(job: Job, preds: list, redacted: Optional[list], reps: Optional[list],
              errors: list) -> Tuple[list, Optional[list], Optional[list]]:
    "The predictions every asked format can write (e.g. i2b2 XML refuses some control characters)."
    from ..formats.writers import brat_ann, i2b2_xml, jsonl_record
    keep = []
    for k, p in enumerate(preds):
        try:
            jsonl_record(p, None if redacted is None else redacted[k], None if reps is None else reps[k])
            if "brat" in job.formats: brat_ann(p)
            if "i2b2" in job.formats: i2b2_xml(p)
        except (ValueError, OSError) as e:
            errors.append(dict(document=p.doc.doc_id, reason=str(e)))
            continue
        keep.append(k)
    pick = lambda xs: None if xs is None else [xs[k] for k in keep]  # noqa: E731
    return [preds[k] for k in keep], pick(redacted), pick(reps)
