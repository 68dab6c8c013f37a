#!/usr/bin/env python
"""Convert a corpus: the same program as `seq2seq-convert` (seq2seq/commands/convert.py), for a checkout.

Run it from the repository root with the package importable (`make` installs it in .venv), e.g.
    .venv/bin/python scripts/convert.py --format brat corpus/brat/ --out data/train.csv
"""
import sys

from seq2seq.commands.cli import run
from seq2seq.commands.convert import main, parse_args  # noqa: F401  (parse_args: for importers)

if __name__ == "__main__":
    sys.exit(run(main))
