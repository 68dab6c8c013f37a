"""Convert an annotated corpus (i2b2 XML, BRAT, CoNLL, Presidio JSON) to a CSV of sentence pairs.

    seq2seq-convert --format brat corpus/brat/ --out data/train.csv --map meddocan --lang es
    seq2seq-convert --format conll wikigold.conll.txt --out data/wikigold.csv --detokenize
"""
import argparse
import sys
from pathlib import Path

from .cli import run

__all__ = ["parser", "parse_args", "main", "console"]

EPILOG = """formats:
  i2b2   i2b2-2014 de-identification XML: <TEXT><![CDATA[..]]></TEXT> and <TAGS> children such as
         <NAME start=".." end=".." text=".." TYPE="DOCTOR"/>, tagged NAME:DOCTOR (DATE when TYPE is DATE);
         INPUT is an .xml file or a folder of them
  brat   BRAT standoff: INPUT is a folder of .txt/.ann pairs or one .ann; T lines only,
         discontinuous spans skipped and counted
  conll  a token a line, IOB1 or IOB2 tag in the last column, blank line between sentences,
         -DOCSTART- between documents; one sentence a row, tokens joined by single spaces
         (CoNLL keeps no original spacing) unless --detokenize
  json   a list of records {"full_text", "spans": [{"entity_type", "start_position", "end_position"}]}
         (Presidio's synthetic data set)

mapping file (JSON, or YAML): {"SOURCE_TYPE": "TARGET:TYPE", "DROPPED_TYPE": null,
  "TYPE_BY_TEXT": [["\\\\d+", "LOCATION:ZIP"], [".*", "LOCATION:CITY"]]}; keys starting with _ are comments;
  types not in the map are kept and listed as unmapped.

Overlapping spans: the one that starts first (the longest at equal starts) is kept, the others
dropped and listed. Documents with bad offsets, span texts that differ from the text, malformed
lines or bytes that are not UTF-8 are skipped and listed; the rest is converted. The output has
columns orig_text,annotated_text,doc_id, and stripping the tags from annotated_text gives
orig_text exactly. Exit status: 0 when rows were written, 2 on a fatal error (one line on stderr)."""


def parser() -> argparse.ArgumentParser:
    "The command line."
    from ..formats.readers import FORMATS
    from ..resources import MAPS
    from ..text.sentences import LANGS, UNITS
    p = argparse.ArgumentParser(
        prog="seq2seq-convert",
        description="Convert an annotated corpus to CSV pairs orig_text,annotated_text (+ doc_id), one sentence "
                    "or line a row, spans written inline i2b2-2014 style: {{TYPE}}span{{/TYPE}}.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", type=Path, help="input file or folder")
    p.add_argument("--format", "-f", required=True, metavar="FORMAT", help=f"input format: {', '.join(FORMATS)}")
    p.add_argument("--out", "-o", type=Path, required=True, help="output CSV (written whole or not at all)")
    p.add_argument("--map", metavar="MAP", help=f"JSON/YAML type mapping file (see below), or a built-in one: {', '.join(MAPS)}")
    p.add_argument("--lang", default="en", help=f"abbreviation list for sentence ends: {', '.join(LANGS)} (default: en)")
    p.add_argument("--unit", metavar="UNIT", help=f"one row per {', '.join(UNITS)} (default: line for conll, else sentence)")
    p.add_argument("--detokenize", action="store_true",
                   help="conll only: glue punctuation and English clitics to their neighbours instead of spacing every token")
    return p


def parse_args(argv=None):
    "Command-line options."
    return parser().parse_args(argv)


def main(argv=None):
    "Convert, write the CSV, print the report; a fatal problem raises ConvertError (or OSError)."
    from ..formats.convert import ConvertError, convert, save_csv
    from ..formats.paths import check_apart
    args = parse_args(argv)
    check_apart([("--out", args.out)], [("INPUT", args.input), ("--map", args.map if args.map and Path(args.map).exists() else None)])
    df, report = convert(args.input, args.format, mapping=args.map, lang=args.lang, unit=args.unit,
                         detokenize=args.detokenize)
    if df.empty:  # name the reasons: with a single bad file, they are the whole story
        why = "; ".join(f"{doc}: {reason}" for doc, reason in report.docs_failed[:3])
        raise ConvertError(f"no rows converted from {args.input} ({report.docs_read} documents read, "
                           f"{len(report.docs_failed)} failed{': ' + why if why else ''})")
    save_csv(df, args.out)
    print(report.summary())
    print(f"wrote {len(df)} rows to {args.out}")


def console():
    "Entry point of `seq2seq-convert`."
    sys.exit(run(main))
