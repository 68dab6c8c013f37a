#!/usr/bin/env python
"""Train a model: the same program as `seq2seq-train` (seq2seq/commands/train.py), for a checkout.

Run it from the repository root with the package importable (`make` installs it in .venv), e.g.
    .venv/bin/python scripts/train.py --csv data/sample.csv --out models/sample
"""
import sys

from seq2seq.commands.cli import run
from seq2seq.commands.train import main, parse_args  # noqa: F401  (parse_args: for importers)

if __name__ == "__main__":
    sys.exit(run(main))
