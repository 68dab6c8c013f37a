"""Train a seq2seq model that restores (or strips) inline {{TAG}}..{{/TAG}} annotations.

Reads a CSV of sentence pairs, builds fastText-initialised embeddings, runs lr_find (unless
--lr is given) and fit_one_cycle, and writes to --out the files listed at the end of this
help (model.safetensors: load it with seq2seq-predict or seq2seq.training.learner.load_seq2seq). With no
arguments it trains on the bundled data/sample.csv.

Several processes: --nproc N on one machine (N GPUs with nccl, or N CPU processes with gloo), or
start this same program with torchrun (e.g. torchrun --nproc_per_node=8 scripts/train.py ...),
on one or several machines; it then joins torchrun's process group as that rank.
"""
import argparse
import sys
from pathlib import Path

from ..config import add_options, from_args
from .cli import run

__all__ = ["parse_args", "main", "console"]


def parser() -> argparse.ArgumentParser:
    "The command line, generated from `TrainConfig` (with its nested configs) and `LaunchConfig`."
    from ..training.config import OUTPUTS, LaunchConfig, TrainConfig
    files = "\n".join(f"  {name:<14} {what}" for name, what in OUTPUTS.items())
    p = argparse.ArgumentParser(prog="seq2seq-train", description=__doc__, epilog=f"files written to --out:\n{files}",
                                formatter_class=_Formatter)
    add_options(p, TrainConfig)
    add_options(p, LaunchConfig)
    return p


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    "Defaults in the help, descriptions and the epilog as written."


def parse_args(argv=None):
    "(TrainConfig, LaunchConfig) from the command line; a bad value exits 2 naming its flag."
    from ..training.config import LaunchConfig, TrainConfig
    p = parser()
    a = p.parse_args(argv)
    return from_args(TrainConfig, a, p), from_args(LaunchConfig, a, p)


def main(argv=None):
    "Train (see the module docstring); prints the validation figures and where the model went."
    import matplotlib
    matplotlib.use("Agg")  # plots go to files; never open a window
    cfg, launch = parse_args(argv)
    from ..formats.paths import check_apart
    check_apart([("--resume" if cfg.resume else "--out", cfg.out)], [("--csv", cfg.csv), ("--vectors", cfg.vectors)])
    from ..training.distributed import is_main_process, run_distributed
    from ..training.job import train
    from ..utils import seed_everything
    seed_everything(cfg.seed)
    res = run_distributed(train, cfg, nproc=launch.nproc, backend=launch.backend, seed=cfg.seed)
    if not is_main_process(): return  # under torchrun every rank runs main(); rank 0 reports
    print("validation: " + ", ".join(f"{k} {v:.4f}" for k, v in res.items() if isinstance(v, float)))
    print(f"model written to {Path(cfg.out) / 'model.safetensors'} (and export.pkl for fastai's load_learner)")


def console():
    "Entry point of `seq2seq-train`."
    sys.exit(run(main))
