#!/usr/bin/env python
"""Restore encrypted redacted copies: the same program as `seq2seq-reidentify` (seq2seq/commands/reidentify.py).

Run it from the repository root with the package importable (`make` installs it in .venv), e.g.
    .venv/bin/python scripts/reidentify.py --key-file secret.key --input out/redacted --out restored
"""
import sys

from seq2seq.commands.cli import run
from seq2seq.commands.reidentify import main

if __name__ == "__main__":
    sys.exit(run(main))
