"""The driver of an archive job on Dask: partitions out to the workers, progress, resume, merge.

`run_job` checks the model, the input and the outputs before anything runs, cuts the input into
partitions (`partitions.plan`), skips those a previous run of the same job finished (their marker
says so: a rerun after a killed worker, driver or cluster resumes), sends the others to the cluster
(`--workers N`: a local cluster of N worker processes, one thread each; `--cluster ADDRESS`: a
running scheduler), a few per worker at a time so the driver never holds a whole CSV, and shows a
progress bar as they finish. A worker that dies takes its partition with it; the scheduler runs it
again elsewhere. At the end the parts are merged into the outputs (`merge`). Documents that could
not be read or written are named, one warning line each, and listed in `errors.jsonl`.

Dask is imported here only: the rest of the package never needs it.
"""
import contextlib
import json
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, List

from ..errors import UserError
from ..utils import atomic_write
from .config import EngineConfig
from .partitions import Job, Partition, plan
from .worker import is_done, read_marker, run_partition

__all__ = ["run_job", "EngineError", "local_workers"]

JOB_FILE = "job.json"


class EngineError(UserError):
    "The engine cannot run the job as asked (a cluster that cannot be reached, parts of another job)."


def local_workers(engine: EngineConfig) -> int:
    "Worker processes of a local cluster: --workers, else 2 (or the usable cores, if fewer)."
    if engine.workers is not None: return engine.workers
    from ..training.device import usable_cores
    return max(1, min(2, usable_cores()))


@contextlib.contextmanager
def _client(engine: EngineConfig, log) -> Iterator:
    "A Dask client: of a running scheduler (--cluster) or of a new local cluster (--workers)."
    from distributed import Client, LocalCluster
    if engine.cluster:
        try: client = Client(engine.cluster, timeout="30s")
        except (OSError, TimeoutError) as e: raise EngineError(f"--cluster {engine.cluster}: cannot connect ({e})") from None
        log(f"cluster {engine.cluster}: {len(client.scheduler_info()['workers'])} worker(s)")
        with client: yield client
        return
    n = local_workers(engine)
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        log(f"local cluster: {n} worker process(es), 1 thread each")
        yield client


def _prepare(job: Job, fingerprint: str) -> Path:
    "The parts folder, with this job's fingerprint; parts of another job are refused (or, --overwrite, removed)."
    parts = job.parts_dir
    f = parts / JOB_FILE
    if f.is_file():
        old = json.loads(f.read_text()).get("fingerprint")
        if old != fingerprint:
            if not job.overwrite:
                raise EngineError(f"{parts}: holds the partitions of another job (other model, input or options); "
                                  "pass --overwrite to start over")
            shutil.rmtree(parts)
    elif parts.exists() and any(parts.iterdir()) and not job.overwrite:
        raise EngineError(f"{parts}: exists and is not a parts folder of this tool; pass --overwrite to replace it")
    parts.mkdir(parents=True, exist_ok=True)
    atomic_write(f, lambda p: p.write_text(json.dumps(dict(fingerprint=fingerprint, input=str(job.input)))))
    return parts


def _run_parts(client, job: Job, todo: Iterator[Partition], n: int, fp: str, inflight: int) -> Iterator[dict]:
    "Submit the partitions, at most `inflight` at a time; yield each summary as it arrives."
    from distributed import as_completed
    todo = iter(todo)
    submit = lambda p: client.submit(run_partition, job, p, fp, key=f"seq2seq-{fp[:12]}-{p.name}",  # noqa: E731
                                     pure=False, retries=2)
    first = [submit(p) for _, p in zip(range(inflight), todo)]
    if not first: return
    pending = as_completed(first)
    for fut in pending:
        yield fut.result()
        fut.release()
        nxt = next(todo, None)
        if nxt is not None: pending.add(submit(nxt))


def run_job(job: Job, engine: EngineConfig, src: str, targets: dict, log: Callable[[str], None] = print) -> dict:
    """Run `job` on the engine (see the module docstring); returns the summary.

    src: the text column of CSV input (the model's by default). targets: the outputs of a document
    job (`writers.targets`), checked by the caller.
    """
    from fastprogress.fastprogress import progress_bar
    from .merge import merge_documents, merge_plain
    fp = job.fingerprint()
    n, parts = plan(job, engine.partition_size, src)
    parts_dir = _prepare(job, fp)
    kept: List[Partition] = []

    def pending():
        for p in parts:
            kept.append(Partition(p.index, p.key))   # the merge needs names only, never the rows
            if not is_done(parts_dir, p, fp): yield p

    summaries, t0 = [], time.perf_counter()
    with _client(engine, log) as client:
        workers = max(1, len(client.scheduler_info()["workers"]))
        todo = pending()
        for s in progress_bar(_run_parts(client, job, todo, n, fp, 2 * workers), total=n):
            summaries.append(s)
    wall = time.perf_counter() - t0
    done = [read_marker(parts_dir, p) for p in kept]
    if any(m is None for m in done): raise EngineError(f"{parts_dir}: a partition has no result; run again to resume")
    res = _summary(job, [m["summary"] for m in done], summaries, wall, log)
    res["outputs"] = {"csv": str(merge_plain(job, kept))} if job.plain else \
        {k: str(v) for k, v in merge_documents(job, kept, targets).items()}
    if not job.plain: _write_errors(job, res["errors"])
    log(f"{res['partitions']} partition(s) ({res['resumed']} done before), {res['items']} {res['unit']}, "
        f"{res['sentences']} sentence(s), {res['spans']} span(s) in {wall:.1f} s ({res['per_s']:.2f} {res['unit']}/s) "
        "-> " + ", ".join(f"{k}: {v}" for k, v in res["outputs"].items()))
    return res


def _summary(job: Job, all_parts: List[dict], ran: List[dict], wall: float, log) -> dict:
    "Totals over every partition, warnings and errors printed (one line each)."
    unit = "rows" if job.plain else "documents"
    items = sum(s["rows"] if job.plain else s["documents"] for s in all_parts)
    errors = [e for s in all_parts for e in s["errors"]]
    for w in sorted({w for s in all_parts for w in s["warnings"]}): print(f"warning: {w}", file=sys.stderr)
    for e in errors: print(f"warning: {e['document']}: {e['reason']}; skipped", file=sys.stderr)
    fresh = [s for s in ran if not s.get("skipped")]
    return dict(partitions=len(all_parts), resumed=len(all_parts) - len(fresh), unit=unit, items=items,
                sentences=sum(s["sentences"] for s in all_parts), spans=sum(s["spans"] for s in all_parts),
                errors=errors, wall_s=round(wall, 3), per_s=round(sum(s["rows"] or s["documents"] for s in fresh) /
                                                            max(wall, 1e-9), 3),
                worker_cpu_s=round(sum(s["cpu_s"] for s in fresh), 3),
                workers={str(s["pid"]): s["loads"] for s in fresh})


def _write_errors(job: Job, errors: list):
    "errors.jsonl in the output folder: one line a document left out (none: no file)."
    f = Path(job.out) / "errors.jsonl"
    if errors: atomic_write(f, lambda p: p.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in errors)))
    elif f.exists(): f.unlink()
