"""Restore inline {{TAG}}..{{/TAG}} annotations in a CSV with a model from seq2seq-train.

Reads --csv in chunks and writes --out with every input column plus --pred-col. Decoders:
greedy, topk (sample among the k most likely tokens), nucleus (sample within probability mass
top-p) and beam (beam search with a GNMT length penalty). By default decoding is faithful: the
output is the input text with tags inserted (strip_tags(output) == input), and words the model
never saw come back exactly; --no-faithful lets the model generate freely. With --ref COL the
predictions are scored (BLEU, chrF, exact match, span P/R/F1, faithfulness) into OUT.metrics.json.

Documents: --input-format text (a .txt file or a folder of them), brat or i2b2 reads whole notes,
splits them into sentences, decodes them in batches across documents and maps every span back to
document offsets. --output-format csv jsonl brat i2b2 (several allowed) writes into the folder
--out (a CSV file when csv is the only format); --redact mask|type|surrogate|hash|encrypt (or a
per-type --redact-policy FILE) adds de-identified copies, written as OUT/redacted/DOC.txt for notes;
--key-file FILE keys consistent pseudonyms, hash and encrypt (seq2seq-reidentify undoes encrypt);
--html OUT.html writes a review page; --ref (brat/i2b2: their annotations) scores spans.

Archives: --engine dask runs the same work in partitions on a Dask cluster (--workers N local worker
processes, or --cluster ADDRESS), writes each partition atomically and resumes a killed run.
Example:
  seq2seq-predict --model m/model.safetensors --input-format text --input notes/ --out out/ \
      --output-format brat jsonl --redact surrogate --html out/review.html
"""
import argparse
import sys

from ..config import add_options, from_args
from ..decoding.config import DecodeConfig
from ..deid.redact import RedactConfig
from ..deid.repeats import RepeatConfig
from ..engine.config import EngineConfig
from .cli import run

__all__ = ["parse_args", "main", "console"]

INPUT_FORMATS = ("csv", "text", "brat", "i2b2")      # documents.INPUT_FORMATS (not imported: fastai-free --help)
OUTPUT_FORMATS = ("csv", "jsonl", "brat", "i2b2")    # writers.OUTPUT_FORMATS

CLI_DEFAULTS = dict(seed=0)  # the command line is reproducible by default; Python callers choose


def parser() -> argparse.ArgumentParser:
    "The command line: file options here, decoding options from `DecodeConfig`'s fields."
    p = argparse.ArgumentParser(prog="seq2seq-predict", description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, help="model.safetensors written by seq2seq-train (or its folder)")
    p.add_argument("--trust-model-file", action="store_true",
                   help="allow a pickle-based model file (export.pkl): unpickling runs any code it holds")
    p.add_argument("--csv", help="input CSV (UTF-8, with a header); same as --input with --input-format csv")
    p.add_argument("--input", help="input: a CSV, a .txt file or folder (text), a BRAT folder or an i2b2 XML file/folder")
    p.add_argument("--input-format", choices=INPUT_FORMATS, default="csv", help="what --input holds")
    p.add_argument("--out", required=True,
                   help="output CSV when csv is the only output format, else an output folder (written atomically)")
    _document_options(p)
    p.add_argument("--src", help="column to decode (default: the model's source column, e.g. orig_text)")
    p.add_argument("--pred-col", default="prediction", help="name of the column added")
    p.add_argument("--overwrite-column", action="store_true", help="replace --pred-col if the input already has it")
    p.add_argument("--sep", help="input CSV delimiter (default: detected from the header: comma, semicolon, tab or "
                                 "pipe; 'tab' for a tab); the output uses the same")
    p.add_argument("--ref", nargs="?", const="annotations",
                   help="reference column to score against (CSV); alone, with brat/i2b2 input: their annotations")
    p.add_argument("--map", metavar="MAP", help="type map applied to the --ref spans before scoring: a JSON/YAML file "
                                                "or a built-in name (meddocan, presidio), as seq2seq-convert --map")
    p.add_argument("--show", type=int, default=0, help="print this many predictions next to their references")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: usable cores, at most 8; "
                                               "with --engine dask: per worker, default 1)")
    add_options(p, DecodeConfig)
    add_options(p, EngineConfig)
    p.set_defaults(**CLI_DEFAULTS)
    return p


def _document_options(p: argparse.ArgumentParser):
    "The options of document input, standard outputs, redaction and the review page."
    p.add_argument("--output-format", nargs="+", choices=OUTPUT_FORMATS,
                   help="one or more of csv, jsonl, brat, i2b2 (default: csv for CSV input, jsonl for documents)")
    add_options(p, RedactConfig, prefix="redact.")
    p.add_argument("--html", help="also write a self-contained review page to this .html file")
    p.add_argument("--min-score", type=float, default=0.0, help="drop spans whose probability is below this (0-1)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    add_options(p, RepeatConfig)


def parse_args(argv=None):
    "(namespace, DecodeConfig) from the command line; a bad value exits 2 naming its flag."
    p = parser()
    a = p.parse_args(argv)
    if a.threads is not None and a.threads < 1: p.error("--threads must be >= 1")
    if bool(a.csv) == bool(a.input): p.error("give the input with exactly one of --csv and --input")
    if a.csv and a.input_format != "csv": p.error("--csv is for CSV input; use --input with --input-format")
    if not 0 <= a.min_score <= 1: p.error("--min-score must be in [0, 1]")
    a.input = a.input or a.csv
    a.output_format = a.output_format or (["csv"] if a.input_format == "csv" else ["jsonl"])
    a.repeat_cfg = from_args(RepeatConfig, a, p)
    a.redact_cfg = from_args(RedactConfig, a, p, prefix="redact.", seed=a.seed if a.seed is not None else 0)
    if a.map and a.ref is None: p.error("--map maps the types of the reference: give --ref too")
    a.engine_cfg = from_args(EngineConfig, a, p)
    cfg = from_args(DecodeConfig, a, p)
    if not cfg.faithful and not _plain_csv(a):
        p.error("--no-faithful: document input, span outputs, redaction, --html and --min-score need faithful "
                "decoding (spans are read off the source); leave out --no-faithful or predict a CSV to a CSV")
    return a, cfg


def _plain_csv(a) -> bool:
    "True when the chunked CSV path does it all (no spans, redaction or review page asked for)."
    return (a.input_format == "csv" and a.output_format == ["csv"] and not a.redact_cfg.active and not a.html
            and a.min_score == 0)


def _inputs(a) -> list:
    "What the run reads, as (flag, path): the outputs must stay apart from them (`formats.paths.check_apart`)."
    from pathlib import Path
    model = Path(a.model)
    return [("--csv" if a.csv else "--input", a.input), ("--model", model / "model.safetensors" if model.is_dir() else model)]


def _documents(a, cfg, ref_map):
    "Document input or span outputs: `predict_docs` (checks every output before loading the model)."
    from ..training.learner import load_seq2seq
    from ..deid.pipeline import predict_docs
    from ..formats.writers import OutputConfig, check_outputs
    out = OutputConfig(a.out, a.output_format, a.overwrite, a.min_score, a.html)
    red = a.redact_cfg
    check_outputs(out, red.active, a.input_format != "csv", _inputs(a))
    learn = load_seq2seq(a.model, device=None if a.device == "auto" else a.device, trust=a.trust_model_file)
    predict_docs(learn, a.input, a.input_format, out, red, cfg, src=a.src, ref=a.ref, repeats=a.repeat_cfg,
                 ref_map=ref_map)


def main(argv=None):
    "Decode --csv (or documents, --input) into --out (see the module docstring)."
    a, cfg = parse_args(argv)
    if a.engine_cfg.engine != "none":
        from .archive import run_archive   # the same work in partitions on a Dask cluster (seq2seq/engine)
        return run_archive(a, cfg, _plain_csv(a))
    from ..training.device import set_threads
    from ..training.learner import load_seq2seq
    from ..deid.predict_csv import check_output, predict_csv
    from ..deid.references import load_ref_map
    from ..formats.paths import check_apart
    set_threads(a.threads)
    ref_map = load_ref_map(a.map)
    if not _plain_csv(a): return _documents(a, cfg, ref_map)
    check_output(a.out)
    check_apart([("--out", a.out)], _inputs(a))
    learn = load_seq2seq(a.model, device=None if a.device == "auto" else a.device, trust=a.trust_model_file)
    predict_csv(learn, a.input, a.out, cfg, src=a.src, pred_col=a.pred_col, ref=a.ref, show=a.show,
                sep={"tab": "\t", "\\t": "\t"}.get(a.sep, a.sep), overwrite_column=a.overwrite_column,
                ref_map=ref_map)


def console():
    "Entry point of `seq2seq-predict`."
    sys.exit(run(main))
