#!/usr/bin/env python
"""Weak labelling: the same program as `seq2seq-weak-label` (seq2seq/commands/weak_label.py), for a checkout.

Run it from the repository root with the package importable (`make` installs it in .venv), e.g.
    .venv/bin/python scripts/weak_label.py --csv notes.csv --out silver.csv --lf data/example_lfs.py
"""
import sys

from seq2seq.commands.cli import run
from seq2seq.commands.weak_label import main, parse_args  # noqa: F401  (parse_args: for importers)

if __name__ == "__main__":
    sys.exit(run(main))
