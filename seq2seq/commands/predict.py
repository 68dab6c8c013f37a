"""Restore inline {{TAG}}..{{/TAG}} annotations in a CSV with a model from seq2seq-train.

Reads --csv in chunks and writes --out with every input column plus --pred-col. Decoders:
greedy, topk (sample among the k most likely tokens), nucleus (sample within probability mass
top-p) and beam (beam search with a GNMT length penalty). By default decoding is faithful: the
output is the input text with tags inserted (strip_tags(output) == input), and words the model
never saw come back exactly; --no-faithful lets the model generate freely. With --ref COL the
predictions are scored (BLEU, chrF, exact match, span P/R/F1, faithfulness) into OUT.metrics.json.
"""
import argparse
import sys

from ..cli import run
from ..config import add_options, from_args
from ..decode import DecodeConfig

__all__ = ["parse_args", "main", "console"]

CLI_DEFAULTS = dict(seed=0)  # the command line is reproducible by default; Python callers choose


def parser() -> argparse.ArgumentParser:
    "The command line: file options here, decoding options from `DecodeConfig`'s fields."
    p = argparse.ArgumentParser(prog="seq2seq-predict", description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, help="export.pkl written by seq2seq-train (or its folder)")
    p.add_argument("--csv", required=True, help="input CSV (UTF-8, with a header)")
    p.add_argument("--out", required=True, help="output CSV (written atomically)")
    p.add_argument("--src", help="column to decode (default: the model's source column, e.g. orig_text)")
    p.add_argument("--pred-col", default="prediction", help="name of the column added")
    p.add_argument("--ref", help="reference column: score the predictions against it")
    p.add_argument("--show", type=int, default=0, help="print this many predictions next to their references")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: usable cores, at most 8)")
    add_options(p, DecodeConfig)
    p.set_defaults(**CLI_DEFAULTS)
    return p


def parse_args(argv=None):
    "(namespace, DecodeConfig) from the command line; a bad value exits 2 naming its flag."
    p = parser()
    a = p.parse_args(argv)
    if a.threads is not None and a.threads < 1: p.error("--threads must be >= 1")
    return a, from_args(DecodeConfig, a, p)


def main(argv=None):
    "Decode --csv into --out (see the module docstring)."
    a, cfg = parse_args(argv)
    from ..device import set_threads
    from ..learner import load_seq2seq
    from ..predict_csv import check_output, predict_csv
    check_output(a.out)
    set_threads(a.threads)
    learn = load_seq2seq(a.model, device=None if a.device == "auto" else a.device)
    predict_csv(learn, a.csv, a.out, cfg, src=a.src, pred_col=a.pred_col, ref=a.ref, show=a.show)


def console():
    "Entry point of `seq2seq-predict`."
    sys.exit(run(main))
