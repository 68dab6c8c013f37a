#!/usr/bin/env python
"""Document path against the CSV path: documents/s and sentences/s, wall and CPU, in one run.

Builds --docs notes from the rows of a sentence CSV (a few sentences a note, joined by single
spaces, line breaks, CRLF and blank lines), writes them as a folder of .txt files and the very
same sentences as a CSV, then times, interleaved, the two whole prediction pipelines on one model:

- `csv`:  `predict_csv` (the sentence CSV in, the annotated CSV out);
- `text`: `predict_docs` (the .txt folder in: read, split into sentences, decode across documents,
  map spans to document offsets, write predictions.jsonl).

Both decode greedily in faithful mode with the same batch size. Every figure is the best of
--repeats; CPU seconds come from getrusage (user + system of this process). The last line is one
JSON object; `text_cost_per_sentence` is the text path's CPU seconds per sentence over the CSV
path's (the budget is 1.10).
"""
import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from seq2seq.commands.cli import run

ROOT = Path(__file__).resolve().parents[1]

_GLUE = [" ", " ", "\n", "\r\n", "\n\n", "\r\n\r\n", "  \n"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(ROOT / "models" / "demo" / "model.safetensors"), help="model.safetensors of scripts/train.py")
    p.add_argument("--csv", default=str(ROOT / "data" / "sample.csv"), help="sentences the notes are built from")
    p.add_argument("--docs", type=int, default=40, help="notes built")
    p.add_argument("--per-doc", type=int, default=8, help="sentences per note")
    p.add_argument("--repeats", type=int, default=3, help="timings per path; the best counts")
    p.add_argument("--bs", type=int, default=64, help="sentences per batch (both paths)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    a = p.parse_args(argv)
    for name in ("docs", "per_doc", "repeats", "bs", "threads"):
        if getattr(a, name) < 1: p.error(f"--{name.replace('_', '-')} must be >= 1")
    return a


def build_corpus(csv_in: Path, folder: Path, n_docs: int, per_doc: int, seed: int = 0) -> Path:
    """Write `n_docs` notes of `per_doc` sentences each into `folder`, and the same sentences as
    `folder/sentences.csv` (column orig_text); returns that CSV's path."""
    import pandas as pd
    sents = [s for s in pd.read_csv(csv_in, dtype=str, keep_default_na=False).iloc[:, 0] if s.strip()]
    r, rows = random.Random(seed), []
    (folder / "notes").mkdir(parents=True)
    for i in range(n_docs):
        pick = [sents[(i * per_doc + j) % len(sents)] for j in range(per_doc)]
        rows += pick
        text = "".join(s + r.choice(_GLUE) for s in pick[:-1]) + pick[-1] + "\n"
        (folder / "notes" / f"note{i:04d}.txt").write_bytes(text.encode("utf-8"))
    pd.DataFrame({"orig_text": rows}).to_csv(folder / "sentences.csv", index=False)
    return folder / "sentences.csv"


def _cpu() -> float:
    "User + system CPU seconds of this process so far."
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _timed(fn) -> tuple:
    "(wall, cpu) seconds of `fn()`."
    w, c = time.perf_counter(), _cpu()
    fn()
    return time.perf_counter() - w, _cpu() - c


def main(argv=None):
    a = parse_args(argv)
    if not Path(a.model).exists():
        raise FileNotFoundError(f"{a.model}: no such model file; run `make demo` first (or pass --model)")
    import torch
    from seq2seq.training.learner import load_seq2seq
    from seq2seq.deid.predict_csv import predict_csv
    from seq2seq.deid.pipeline import predict_docs
    from seq2seq.deid.redact import RedactConfig
    from seq2seq.formats.writers import OutputConfig
    torch.set_num_threads(a.threads)
    learn = load_seq2seq(a.model, device="cpu")
    quiet = lambda *x: None  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv = build_corpus(Path(a.csv), tmp, a.docs, a.per_doc)
        paths = {
            "csv": lambda k: predict_csv(learn, csv, tmp / f"out{k}.csv", bs=a.bs, log=quiet),
            "text": lambda k: predict_docs(learn, tmp / "notes", "text", OutputConfig(str(tmp / f"docs{k}"), ["jsonl"]),
                                           RedactConfig(), bs=a.bs, log=quiet)}
        learn.restore(["Seen by Dr. Smith on 3/4/2091."] * 8)   # warm-up
        best = {k: (float("inf"), float("inf")) for k in paths}
        sents = 0
        for rep in range(a.repeats):
            for name, fn in paths.items():
                out = {}
                wall, cpu = _timed(lambda: out.update(r=fn(rep)))
                if name == "text": sents = out["r"]["sentences"]
                best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return _report(a, best, a.docs * a.per_doc, sents, torch.get_num_threads())


def _report(a, best: dict, csv_rows: int, doc_sents: int, threads: int) -> dict:
    "Print the table and the JSON line."
    n = {"csv": csv_rows, "text": doc_sents}
    print(f"{a.docs} notes, {csv_rows} CSV rows; the text path split the notes into {doc_sents} sentences; "
          f"greedy, faithful, bs {a.bs}, best of {a.repeats}, {threads} thread(s)")
    print(f"{'path':<6}{'wall s':>9}{'cpu s':>9}{'docs/s':>9}{'sents/s':>9}{'cpu ms/sent':>13}")
    for k, (w, c) in best.items():
        docs = f"{a.docs / w:9.1f}" if k == "text" else f"{'':>9}"
        print(f"{k:<6}{w:9.2f}{c:9.2f}{docs}{n[k] / w:9.1f}{1000 * c / n[k]:13.2f}")
    ratio = (best["text"][1] / n["text"]) / (best["csv"][1] / n["csv"])
    res = {"docs_per_s": round(a.docs / best["text"][0], 2),
           "sents_per_s": {k: round(n[k] / best[k][0], 2) for k in best},
           "cpu_ms_per_sentence": {k: round(1000 * best[k][1] / n[k], 3) for k in best},
           "text_cost_per_sentence": round(ratio, 3), "docs": a.docs, "csv_rows": csv_rows,
           "doc_sentences": doc_sents, "bs": a.bs, "repeats": a.repeats, "threads": threads}
    print(f"the text path costs {ratio:.3f}x the CSV path's CPU per sentence (budget 1.10)")
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    sys.exit(run(main))
