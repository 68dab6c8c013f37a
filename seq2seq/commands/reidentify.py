"""Restore the notes that seq2seq-predict --redact encrypt wrote, with the key file they were encrypted with.

Every [ENC:TYPE:...] token of the redacted copies is decrypted (AES-SIV, authenticated: a wrong key or
an altered token is an error naming the file and offset, and nothing is written); everything else is
copied byte for byte. Spans that other operators replaced (surrogate, hash, mask, type) stay replaced.
--new-key FILE writes a new random key file (readable by its owner only) for --key-file. Example:
  seq2seq-reidentify --new-key secret.key
  seq2seq-predict --model m/model.safetensors --input-format text --input notes/ --out out/ \\
      --redact encrypt --key-file secret.key
  seq2seq-reidentify --key-file secret.key --input out/redacted --out restored/
"""
import argparse
import sys

from ..config import add_options, from_args
from ..deid.reidentify import ReidentifyConfig
from .cli import run

__all__ = ["parser", "parse_args", "main", "console"]


def parser() -> argparse.ArgumentParser:
    "The command line: `ReidentifyConfig`'s fields and --new-key."
    p = argparse.ArgumentParser(prog="seq2seq-reidentify", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(p, ReidentifyConfig)
    p.add_argument("--new-key", metavar="FILE", help="write a new random key to FILE (never overwrites) and exit")
    return p


def parse_args(argv=None):
    "(namespace, ReidentifyConfig or None when --new-key) from the command line; a bad value exits 2."
    p = parser()
    a = p.parse_args(argv)
    if a.new_key: return a, None
    cfg = from_args(ReidentifyConfig, a, p)
    if not (cfg.key_file and cfg.input and cfg.out): p.error("give --key-file, --input and --out (or --new-key FILE)")
    return a, cfg


def main(argv=None):
    "Restore --input into --out with --key-file, or write a new key (see the module docstring)."
    a, cfg = parse_args(argv)
    if cfg is None:
        from ..deid.keys import new_key_file
        print(f"wrote a new key to {new_key_file(a.new_key)}: keep it secret, keep a copy; without it encrypted "
              "copies cannot be restored")
        return
    from ..deid.reidentify import reidentify
    reidentify(cfg)


def console():
    "Entry point of `seq2seq-reidentify`."
    sys.exit(run(main))
