"""The partitions' outputs -> the job's outputs, in input order, laid out as the single-process run
lays them out (`formats.writers.targets`), so the two runs' outputs can be compared file by file.

- plain CSV: the part CSVs concatenated (only the first holds the header) -> `--out`;
- `predictions.jsonl`: the parts' lines concatenated; `predictions.csv`: the same, one header;
- `brat/`, `i2b2/`, `redacted/`: every part's files, hard-linked where the filesystem allows (else copied).

Everything is staged under a temporary name in the destination folder, then renamed into place;
an interrupted merge leaves the parts, and the rerun merges again.
"""
import os
import shutil
import tempfile
from pathlib import Path
from typing import Dict, List

import pandas as pd

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


def _link_all(dest: Path, folders: List[Path]):
    "A new folder `dest` holding the files of `folders` (hard links, or copies across filesystems)."
    dest.mkdir()
    for d in folders:
        if not d.is_dir(): continue
        for f in sorted(d.iterdir()):
            try: os.link(f, dest / f.name)
            except OSError: shutil.copy2(f, dest / f.name)


def _put(tmp: Path, dest: Path):
    "Move `tmp` onto `dest`, replacing what is there (an old folder is swapped out, then removed)."
    old = None
    if dest.is_dir():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.replace(dest, old)
    os.replace(tmp, dest)
    if old is not None: shutil.rmtree(old)


def merge_documents(job: Job, parts: List[Partition], targets: Dict[str, Path]) -> Dict[str, Path]:
    """Assemble each output of `targets` (format -> path, from `writers.targets`) from the partitions'
    folders; partitions that kept no document (all failed) have no folder and are passed over."""
    folders = [job.parts_dir / p.name for p in parts if (job.parts_dir / p.name).is_dir()]
    root = Path(job.out)
    root.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=root, prefix=".merge-"))
    try:
        for fmt, dest in targets.items():
            inside = [d / dest.name for d in folders]
            if fmt == "jsonl": _concat(stage / dest.name, [f for f in inside if f.is_file()])
            elif fmt == "csv": _concat(stage / dest.name, [f for f in inside if f.is_file()], skip_header=True)
            else: _link_all(stage / dest.name, inside)
        for dest in targets.values(): _put(stage / dest.name, dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return targets
