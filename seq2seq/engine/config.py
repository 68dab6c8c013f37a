"""The archive engine's options (`EngineConfig`), declared once: `seq2seq-predict` builds its
`--engine`, `--workers`, `--cluster` and `--partition-size` flags from them (each worker decodes with
`--threads` torch threads, 1 by default).

Light: no torch, no fastai, no dask at import (the engine is imported only when it runs).
"""
from dataclasses import dataclass
from typing import Optional

from ..config import check, int_ge, option

__all__ = ["EngineConfig", "ENGINES"]

ENGINES = ("none", "dask")


@dataclass(frozen=True)
class EngineConfig:
    "Running seq2seq-predict's work in partitions on a Dask cluster (see docs/archives.md)."
    engine: str = option("none", "run on a distributed engine: none (this process) or dask (partitions on Dask "
                                 "workers, resumable)", choices=ENGINES)
    workers: Optional[int] = option(None, "--engine dask: start a local cluster of this many worker processes "
                                          "(default: 2, or the usable cores if fewer)", metavar="N")
    cluster: Optional[str] = option(None, "--engine dask: the address of a running Dask scheduler "
                                          "(tcp://HOST:8786) instead of a local cluster", metavar="ADDRESS")
    partition_size: int = option(200, "--engine dask: documents (or CSV rows) per partition; each partition's "
                                      "output is written atomically and skipped by a rerun")

    def __post_init__(self):
        check([(self.engine in ENGINES, f"{{}} must be one of {', '.join(ENGINES)} (got {self.engine!r})", "engine"),
               (self.workers is None or int_ge(self.workers, 1), f"{{}} must be >= 1 (got {self.workers!r})", "workers"),
               (self.workers is None or self.cluster is None, "give {} or {}, not both", "workers", "cluster"),
               (int_ge(self.partition_size, 1), f"{{}} must be >= 1 (got {self.partition_size!r})", "partition_size"),
               (self.engine == "dask" or (self.workers is None and self.cluster is None),
                "{} and {} need --engine dask", "workers", "cluster")])
