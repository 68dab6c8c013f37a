#!/usr/bin/env python
"""Weak supervision: label plain texts with labelling functions and a label model, write silver pairs.

Reads --csv (column --text-col), runs the built-in labelling functions (regex: dates, times,
phones, e-mails, URLs, IPs, postal codes, IDs, ages, streets; context: "Dr. X", "Nombre: X",
"NHC: X", "varón de 64 años", ...; gazetteer: the lists in data/gazetteers), your gazetteers
(--gazetteer), your own functions (--lf FILE, decorated with @labelling_function, see
data/example_lfs.py) and optionally a trained model (--model), combines their votes with
skweak's HMM (learns each function's accuracy, no gold needed) or a majority vote, and writes
--out as orig_text,annotated_text,confidence, ready for scripts/train.py. Every annotated_text
strips back to its orig_text exactly. OUT.report.csv lists each function's coverage, overlaps,
conflicts and errors (and precision/recall with --ref). A function that raises on a row is
named with the row, skipped there and counted; one that returns spans outside the text or
overlapping each other stops the run with its name.

Build gazetteers from an annotated CSV's spans with --gazetteers-from CSV --gazetteer-out DIR.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seq2seq.cli import run  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--csv", help="input CSV (UTF-8, with a header)")
    p.add_argument("--out", help="silver pair CSV to write (and OUT.report.csv)")
    p.add_argument("--text-col", default="orig_text", help="column of plain text to label")
    p.add_argument("--lf", action="append", default=[], metavar="FILE",
                   help="Python file of @labelling_function functions (repeatable)")
    p.add_argument("--builtin", default="regex,context,gazetteer",
                   help="built-in families to use, comma-separated (regex, context, gazetteer), or 'none'")
    p.add_argument("--gazetteer", action="append", default=[], metavar="[TYPE=]FILE",
                   help="plain list, one entry a line; TYPE= unless its first line is '# type: TYPE' (repeatable)")
    p.add_argument("--model", help="export.pkl of a trained model, used as one more labelling function")
    p.add_argument("--label-model", choices=("hmm", "vote"), default="hmm",
                   help="hmm: skweak's HMM learns each function's accuracy; vote: token-level majority vote")
    p.add_argument("--n-iter", type=int, default=4, help="EM iterations of the HMM")
    p.add_argument("--ref", help="gold annotated column of --csv: adds each function's precision/recall to the report")
    p.add_argument("--min-confidence", type=float, default=0.0, help="leave out rows whose confidence is lower")
    p.add_argument("--limit", type=int, help="read only the first N rows")
    p.add_argument("--gazetteers-from", metavar="CSV", help="instead: write a gazetteer per tag type from this annotated CSV")
    p.add_argument("--gazetteer-out", metavar="DIR", help="folder for --gazetteers-from")
    p.add_argument("--annotated-col", default="annotated_text", help="annotated column for --gazetteers-from")
    a = p.parse_args(argv)
    if a.gazetteers_from:
        if not a.gazetteer_out: p.error("--gazetteers-from needs --gazetteer-out DIR")
    elif not (a.csv and a.out): p.error("--csv and --out are required")
    if not 0 <= a.min_confidence <= 1: p.error("--min-confidence must be in [0, 1]")
    if a.n_iter < 1: p.error("--n-iter must be >= 1")
    return a


def main(argv=None):
    a = parse_args(argv)
    if a.gazetteers_from:
        from seq2seq.lfs_builtin import gazetteers_from_csv
        for t, (path, n) in gazetteers_from_csv(a.gazetteers_from, a.gazetteer_out, a.annotated_col).items():
            print(f"{t}: {n} entries -> {path}")
        return
    from seq2seq.label_model import LabelModelConfig
    from seq2seq.weak_run import WeakConfig, weak_label
    fams = [] if a.builtin == "none" else [f.strip() for f in a.builtin.split(",") if f.strip()]
    cfg = WeakConfig(csv=a.csv, out=a.out, text_col=a.text_col, lf_files=a.lf, builtin=fams, gazetteers=a.gazetteer,
                     model=a.model, label_model=LabelModelConfig(a.label_model, a.n_iter), ref=a.ref,
                     min_confidence=a.min_confidence, limit=a.limit)
    res, report = weak_label(cfg)
    print(report.round(3).to_string())
    print(json.dumps(res))


if __name__ == "__main__":
    sys.exit(run(main))
