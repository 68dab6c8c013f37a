"""Weak supervision: label plain texts with labelling functions and a label model, write silver pairs.

Reads --csv (column --text-col), runs the built-in labelling functions (regex: dates, times,
phones, e-mails, URLs, IPs, postal codes, IDs, ages, streets; context: "Dr. X", "Nombre: X",
"NHC: X", "varón de 64 años", ...; gazetteer: the built-in lists in seq2seq/resources/gazetteers), your gazetteers
(--gazetteer), your own functions (--lf FILE, decorated with @labelling_function, see
data/example_lfs.py) and optionally a trained model (--model), combines their votes with
skweak's HMM (learns each function's accuracy, no gold needed) or a majority vote, and writes
--out as orig_text,annotated_text,confidence, ready for seq2seq-train. Every annotated_text
strips back to its orig_text exactly. OUT.report.csv lists each function's coverage, overlaps,
conflicts and errors (and precision/recall with --ref). A function that raises on a row is
named with the row, skipped there and counted; one that returns spans outside the text or
overlapping each other stops the run with its name.

Build gazetteers from an annotated CSV's spans with --gazetteers-from CSV --gazetteer-out DIR.
"""
import argparse
import json
import sys

from ..config import add_options, from_args
from .cli import run

__all__ = ["parse_args", "main", "console"]


def parser() -> argparse.ArgumentParser:
    "The command line: `WeakConfig`'s fields (with its label model's), the repeatable files, the gazetteer helper."
    from ..weak.job import WeakConfig
    p = argparse.ArgumentParser(prog="seq2seq-weak-label", description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_options(p, WeakConfig)
    p.add_argument("--lf", dest="lf_files", action="append", default=[], metavar="FILE",
                   help="Python file of @labelling_function functions (repeatable)")
    p.add_argument("--gazetteer", dest="gazetteers", action="append", default=[], metavar="[TYPE=]FILE",
                   help="plain list, one entry a line; TYPE= unless its first line is '# type: TYPE' (repeatable)")
    p.add_argument("--gazetteers-from", metavar="CSV", help="instead: write a gazetteer per tag type from this annotated CSV")
    p.add_argument("--gazetteer-out", metavar="DIR", help="folder for --gazetteers-from")
    p.add_argument("--annotated-col", default="annotated_text", help="annotated column for --gazetteers-from")
    return p


def parse_args(argv=None):
    "(namespace, WeakConfig or None for --gazetteers-from) from the command line; a bad value exits 2."
    from ..weak.job import WeakConfig
    p = parser()
    a = p.parse_args(argv)
    if a.gazetteers_from:
        if not a.gazetteer_out: p.error("--gazetteers-from needs --gazetteer-out DIR")
        return a, None
    if not (a.csv and a.out): p.error("--csv and --out are required")
    return a, from_args(WeakConfig, a, p, lf_files=a.lf_files, gazetteers=a.gazetteers)


def main(argv=None):
    "Write the silver CSV and its report (see the module docstring); prints the report and a JSON summary."
    a, cfg = parse_args(argv)
    if cfg is None:
        from ..formats.paths import check_apart
        from ..weak.builtin import gazetteers_from_csv
        check_apart([("--gazetteer-out", a.gazetteer_out)], [("--gazetteers-from", a.gazetteers_from)])
        for t, (path, n) in gazetteers_from_csv(a.gazetteers_from, a.gazetteer_out, a.annotated_col).items():
            print(f"{t}: {n} entries -> {path}")
        return
    from ..weak.job import weak_label
    res, report = weak_label(cfg)
    print(report.round(3).to_string())
    print(json.dumps(res))


def console():
    "Entry point of `seq2seq-weak-label`."
    sys.exit(run(main))
