#!/usr/bin/env python
"""Serve a model over HTTP: the same program as `seq2seq-serve` (seq2seq/commands/serve.py), for a checkout.

Run it from the repository root with the package importable (`make` installs it in .venv), e.g.
    .venv/bin/python scripts/serve.py --model models/demo/model.safetensors --port 8080
"""
import sys

from seq2seq.commands.cli import run
from seq2seq.commands.serve import main

if __name__ == "__main__":
    sys.exit(run(main))
