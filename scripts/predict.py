#!/usr/bin/env python
"""Restore inline {{TAG}}..{{/TAG}} annotations in a CSV, or find the PHI spans of whole documents,
with a model from scripts/train.py.

Reads --csv in chunks and writes --out with every input column plus --pred-col. Decoders:
greedy, topk (sample among the k most likely tokens), nucleus (sample within probability mass
top-p) and beam (beam search with a GNMT length penalty). By default decoding is faithful: the
output is the input text with tags inserted (strip_tags(output) == input), and words the model
never saw come back exactly; --no-faithful lets the model generate freely. With --ref COL the
predictions are scored (BLEU, chrF, exact match, span P/R/F1, faithfulness) into OUT.metrics.json.

Documents: --input-format text (a .txt file or a folder of them), brat or i2b2 reads whole notes,
splits them into sentences, decodes them in batches across documents and maps every span back to
document offsets. --output-format csv jsonl brat i2b2 (several allowed) writes into the folder
--out (a CSV file when csv is the only format); --redact mask|type|surrogate adds de-identified
copies; --html OUT.html writes a review page; --ref (brat/i2b2: their annotations) scores spans.
Example:
  predict.py --model m/export.pkl --input-format text --input notes/ --out out/ \
      --output-format brat jsonl --redact surrogate --html out/review.html
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seq2seq.cli import run  # noqa: E402

DECODERS = ("greedy", "topk", "nucleus", "beam")
INPUT_FORMATS = ("csv", "text", "brat", "i2b2")
OUTPUT_FORMATS = ("csv", "jsonl", "brat", "i2b2")
REDACT_MODES = ("none", "mask", "type", "surrogate")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, help="export.pkl written by scripts/train.py (or its folder)")
    p.add_argument("--csv", help="input CSV (UTF-8, with a header); same as --input with --input-format csv")
    p.add_argument("--input", help="input: a CSV, a .txt file or folder (text), a BRAT folder or an i2b2 XML file/folder")
    p.add_argument("--input-format", choices=INPUT_FORMATS, default="csv", help="what --input holds")
    p.add_argument("--out", required=True,
                   help="output CSV when csv is the only output format, else an output folder (written atomically)")
    p.add_argument("--output-format", nargs="+", choices=OUTPUT_FORMATS,
                   help="one or more of csv, jsonl, brat, i2b2 (default: csv for CSV input, jsonl for documents)")
    p.add_argument("--redact", choices=REDACT_MODES, default="none",
                   help="add de-identified copies: mask (characters), type ([TYPE]) or surrogate (invented values)")
    p.add_argument("--mask-char", default="*", help="character written by --redact mask")
    p.add_argument("--html", help="also write a self-contained review page to this .html file")
    p.add_argument("--min-score", type=float, default=0.0, help="drop spans whose probability is below this (0-1)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--src", help="column to decode (default: the model's source column, e.g. orig_text)")
    p.add_argument("--pred-col", default="prediction", help="name of the column added")
    p.add_argument("--decoder", choices=DECODERS, default="greedy", help="decoding strategy")
    p.add_argument("--beam-size", type=int, default=5, help="beams (beam decoder)")
    p.add_argument("--n-best", type=int, default=1,
                   help="hypotheses kept per row; > 1 adds PRED_COL_nbest as JSON [text, score] pairs")
    p.add_argument("--top-k", type=int, default=10, help="k for the topk decoder")
    p.add_argument("--top-p", type=float, default=0.9, help="probability mass for the nucleus decoder")
    p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (sampling decoders)")
    p.add_argument("--length-penalty", type=float, default=0.6, help="GNMT alpha for beam search (0: none)")
    p.add_argument("--max-len", type=int, help="most tokens per output (default: 2 x source length + 10)")
    p.add_argument("--seed", type=int, default=0, help="seed for the sampling decoders and for --redact surrogate")
    p.add_argument("--bs", type=int, default=64, help="sentences decoded per batch")
    p.add_argument("--no-faithful", action="store_true", help="let the model generate freely")
    p.add_argument("--ref", nargs="?", const="annotations",
                   help="reference column to score against (CSV); alone, with brat/i2b2 input: their annotations")
    p.add_argument("--show", type=int, default=0, help="print this many predictions next to their references")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    a = p.parse_args(argv)
    checks = [(a.beam_size >= 1, "--beam-size must be >= 1"), (a.n_best >= 1, "--n-best must be >= 1"),
              (a.top_k >= 1, "--top-k must be >= 1"), (0 < a.top_p <= 1, "--top-p must be in (0, 1]"),
              (a.temperature > 0, "--temperature must be > 0"), (a.length_penalty >= 0, "--length-penalty must be >= 0"),
              (a.max_len is None or a.max_len >= 1, "--max-len must be >= 1"), (a.bs >= 1, "--bs must be >= 1"),
              (a.decoder != "beam" or a.n_best <= a.beam_size, "--n-best must be <= --beam-size with beam search")]
    checks += [(bool(a.csv) != bool(a.input), "give the input with exactly one of --csv and --input"),
               (not a.csv or a.input_format == "csv", "--csv is for CSV input; use --input with --input-format"),
               (0 <= a.min_score <= 1, "--min-score must be in [0, 1]")]
    for ok, msg in checks:
        if not ok: p.error(msg)
    a.input = a.input or a.csv
    a.output_format = a.output_format or (["csv"] if a.input_format == "csv" else ["jsonl"])
    return a


def _plain_csv(a) -> bool:
    "True when today's chunked CSV path does it all (no spans, redaction or review page asked for)."
    return (a.input_format == "csv" and a.output_format == ["csv"] and a.redact == "none" and not a.html
            and a.min_score == 0)


def main(argv=None):
    a = parse_args(argv)
    from seq2seq.learner import load_seq2seq
    decode = dict(decoder=a.decoder, beam_size=a.beam_size, top_k=a.top_k, top_p=a.top_p, temperature=a.temperature,
                  length_penalty=a.length_penalty, max_len=a.max_len, seed=a.seed)
    if _plain_csv(a):
        from seq2seq.predict_csv import check_output, predict_csv
        check_output(a.out)
        learn = load_seq2seq(a.model, device=None if a.device == "auto" else a.device)
        predict_csv(learn, a.input, a.out, src=a.src, pred_col=a.pred_col, ref=a.ref, show=a.show, n_best=a.n_best,
                    bs=a.bs, faithful=not a.no_faithful, **decode)
        return
    from seq2seq.predict_docs import predict_docs
    from seq2seq.redact import RedactConfig
    from seq2seq.writers import OutputConfig, check_outputs
    out = OutputConfig(a.out, a.output_format, a.overwrite, a.min_score, a.html)
    red = RedactConfig(a.redact, a.mask_char, a.seed)
    check_outputs(out, red.mode != "none")
    if a.no_faithful: raise ValueError("--no-faithful: span outputs, redaction and the review page need faithful decoding")
    learn = load_seq2seq(a.model, device=None if a.device == "auto" else a.device)
    predict_docs(learn, a.input, a.input_format, out, red, src=a.src, ref=a.ref, bs=a.bs, **decode)


if __name__ == "__main__":
    sys.exit(run(main))
