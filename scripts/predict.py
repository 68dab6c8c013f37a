#!/usr/bin/env python
"""Restore inline {{TAG}}..{{/TAG}} annotations in a CSV with a model from scripts/train.py.

Reads --csv in chunks and writes --out with every input column plus --pred-col. Decoders:
greedy, topk (sample among the k most likely tokens), nucleus (sample within probability mass
top-p) and beam (beam search with a GNMT length penalty). By default decoding is faithful: the
output is the input text with tags inserted (strip_tags(output) == input), and words the model
never saw come back exactly; --no-faithful lets the model generate freely. With --ref COL the
predictions are scored (BLEU, chrF, exact match, span P/R/F1, faithfulness) into OUT.metrics.json.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seq2seq.cli import run  # noqa: E402

DECODERS = ("greedy", "topk", "nucleus", "beam")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, help="export.pkl written by scripts/train.py (or its folder)")
    p.add_argument("--csv", required=True, help="input CSV (UTF-8, with a header)")
    p.add_argument("--out", required=True, help="output CSV (written atomically)")
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
    p.add_argument("--seed", type=int, default=0, help="seed for the sampling decoders")
    p.add_argument("--bs", type=int, default=64, help="sentences decoded per batch")
    p.add_argument("--no-faithful", action="store_true", help="let the model generate freely")
    p.add_argument("--ref", help="reference column: score the predictions against it")
    p.add_argument("--show", type=int, default=0, help="print this many predictions next to their references")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: usable cores, at most 8)")
    a = p.parse_args(argv)
    checks = [(a.beam_size >= 1, "--beam-size must be >= 1"), (a.n_best >= 1, "--n-best must be >= 1"),
              (a.top_k >= 1, "--top-k must be >= 1"), (0 < a.top_p <= 1, "--top-p must be in (0, 1]"),
              (a.temperature > 0, "--temperature must be > 0"), (a.length_penalty >= 0, "--length-penalty must be >= 0"),
              (a.max_len is None or a.max_len >= 1, "--max-len must be >= 1"), (a.bs >= 1, "--bs must be >= 1"),
              (a.threads is None or a.threads >= 1, "--threads must be >= 1"),
              (a.decoder != "beam" or a.n_best <= a.beam_size, "--n-best must be <= --beam-size with beam search")]
    for ok, msg in checks:
        if not ok: p.error(msg)
    return a


def main(argv=None):
    a = parse_args(argv)
    from seq2seq.learner import load_seq2seq
    from seq2seq.predict_csv import check_output, predict_csv
    from seq2seq.device import set_threads
    set_threads(a.threads)
    check_output(a.out)
    learn = load_seq2seq(a.model, device=None if a.device == "auto" else a.device)
    predict_csv(learn, a.csv, a.out, src=a.src, pred_col=a.pred_col, ref=a.ref, show=a.show,
                decoder=a.decoder, beam_size=a.beam_size, n_best=a.n_best, top_k=a.top_k, top_p=a.top_p,
                temperature=a.temperature, length_penalty=a.length_penalty, max_len=a.max_len, seed=a.seed,
                bs=a.bs, faithful=not a.no_faithful)


if __name__ == "__main__":
    sys.exit(run(main))
