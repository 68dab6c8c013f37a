"""The partitions' outputs -> the job's outputs, in input order, laid out as the single-process run
lays them out (`formats.writers.targets`), so the two runs' outputs can be compared file by file.

- plain CSV: the part CSVs concatenated (only the first holds the header) -> `--out`;
- `predictions.jsonl`: the parts' lines concatenated; `predictions.csv`: the same, one header;
- `brat/`, `i2b2/`, `redacted/`: every part's files, copied.

Everything is written under a temporary name beside its target and put in place together, with the
output folder's manifest (`formats.output_set`); an interrupted merge leaves the parts, and the rerun
merges again.
"""
import shutil
from pathlib import Path
from typing import Dict, List

import pandas as pd

from ..formats.output_set import OutputSet
from ..utils import atomic_write
from .partitions import Job, Partition

__all__ = ["merge_plain", "merge_documents"]


def _concat(dest: Path, files: List[Path], skip_header: bool = False):
    "Write the bytes of `files` one after the other into `dest` (without each but the first one's CSV header)."
    with open(dest, "wb") as out:
        header = None
        for f in files:
            data = f.read_bytes()
            if skip_header:
                if header is None: header = _csv_header(f)
                elif data.startswith(header): data = data[len(header):]
                else: raise ValueError(f"{f}: its header differs from the first part's")
            out.write(data)


def _csv_header(f: Path) -> bytes:
    "The header record of a CSV written by `writers` (pandas, minimal quoting), as bytes."
    cols = pd.read_csv(f, nrows=0, dtype=str).columns
    return pd.DataFrame(columns=cols).to_csv(index=False).encode("utf-8")


def merge_plain(job: Job, parts: List[Partition]) -> Path:
    "Concatenate the part CSVs of a plain CSV job into `job.out`, atomically."
    files = [job.parts_dir / f"{p.name}.csv" for p in parts]
    return atomic_write(Path(job.out), lambda tmp: _concat(tmp, files))


def merge_documents(job: Job, parts: List[Partition], targets: Dict[str, Path]) -> Dict[str, Path]:
    """Assemble each output of `targets` (format -> path, from `writers.targets`) from the partitions'
    folders, as one output set (`formats.output_set.OutputSet`: all in place together, the folder's
    manifest listing them, so a later `--overwrite` replaces only these files, as after a one-process
    run); partitions that kept no document (all failed) have no folder and are passed over."""
    folders = [job.parts_dir / p.name for p in parts if (job.parts_dir / p.name).is_dir()]
    with OutputSet(Path(job.out), job.overwrite) as outs:
        for fmt, dest in targets.items():
            inside = [d / dest.name for d in folders]
            if fmt == "jsonl": _concat(outs.path(dest), [f for f in inside if f.is_file()])
            elif fmt == "csv": _concat(outs.path(dest), [f for f in inside if f.is_file()], skip_header=True)
            else:
                for f in sorted(x for d in inside if d.is_dir() for x in d.iterdir()):
                    shutil.copyfile(f, outs.path(dest / f.name))
        outs.commit()
    return targets
