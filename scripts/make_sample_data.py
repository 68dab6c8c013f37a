"""Write a synthetic sample CSV of clinical sentences with inline surrogate-PHI tags.

    python scripts/make_sample_data.py                      # 3000 rows, seed 0 -> data/sample.csv
    python scripts/make_sample_data.py --rows 500 --seed 7 --out /tmp/small.csv

Run it from the repository root with the package importable (`make` installs it in .venv).
"""
import argparse
from pathlib import Path

from seq2seq.data.synth import make_pairs, span_counts, write_csv


def parse_args(argv=None):
    "Command-line options."
    p = argparse.ArgumentParser(
        description="Generate synthetic English clinical-note sentences with invented (surrogate) PHI, "
                    "tagged inline i2b2-2014 style ({{TYPE}}span{{/TYPE}}), as a CSV with columns "
                    "orig_text,annotated_text. The same --rows and --seed always give the same file.")
    p.add_argument("--rows", type=int, default=3000, help="number of distinct rows to write (default: 3000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--out", type=Path, default=Path("data/sample.csv"),
                   help="output CSV path, parent folders are created (default: data/sample.csv)")
    return p.parse_args(argv)


def main(argv=None):
    "Generate the pairs, write the CSV, print a one-line summary; returns the output path."
    args = parse_args(argv)
    pairs = make_pairs(args.rows, seed=args.seed)
    path = write_csv(pairs, args.out)
    counts = span_counts(pairs)
    plain = sum(o == a for o, a in pairs)
    per_type = ", ".join(f"{t} {c}" for t, c in sorted(counts.items()))
    print(f"wrote {len(pairs)} rows ({plain} without PHI, {sum(counts.values())} spans) to {path}: {per_type}")
    return path


if __name__ == "__main__":
    main()
