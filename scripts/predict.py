#!/usr/bin/env python
"""Annotate a CSV: the same program as `seq2seq-predict` (seq2seq/commands/predict.py), for a checkout.

Run it from the repository root with the package importable (`make` installs it in .venv), e.g.
    .venv/bin/python scripts/predict.py --model models/sample --csv in.csv --out out.csv
"""
import sys

from seq2seq.commands.cli import run
from seq2seq.commands.predict import main, parse_args  # noqa: F401  (parse_args: for importers)

if __name__ == "__main__":
    sys.exit(run(main))
