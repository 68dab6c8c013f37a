#!/usr/bin/env python
"""Cost of each redaction operator: notes/s and CPU seconds, side by side in one run.

Reads a BRAT folder (default: the MEDDOCAN dev notes of ../shared/corpora, types mapped with --map),
takes its annotations as the predicted spans (plus their repeats, as the document job adds them), and
redacts every note with each operator in turn (surrogate without and with a key file, mask, type,
hash, encrypt), --repeats times; the best run of each counts. CPU seconds are this process's user +
system time (os.times). No model is involved: this is the redaction step alone. The last line is one
JSON object.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPERATORS = ("surrogate", "surrogate+key", "mask", "type", "hash", "encrypt")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--brat", default=str(ROOT.parent / "shared" / "corpora" / "meddocan" / "dev" / "brat"),
                   help="a BRAT folder of notes whose annotations stand for the predictions")
    p.add_argument("--map", default="meddocan", help="type map of the annotations (convert --map); 'none' keeps them")
    p.add_argument("--lang", default="es", help="language of the notes")
    p.add_argument("--repeats", type=int, default=3, help="runs per operator; the best counts")
    a = p.parse_args(argv)
    if a.repeats < 1: p.error("--repeats must be >= 1")
    return a


def load(brat: str, mapping: str):
    "(id, text, spans with their repeats) of every note of the folder."
    from seq2seq.deid.repeats import with_repeats
    from seq2seq.formats.convert import _map_spans, load_mapping
    from seq2seq.formats.readers import read_brat
    from seq2seq.text.tags import ScoredSpan
    mp = None if mapping == "none" else load_mapping(mapping)
    res = []
    for doc_id, text, spans in read_brat(brat):
        spans, _, _ = _map_spans(text, spans, mp)
        spans = sorted({(s.start, s.end): s for s in spans}.values())
        spans = [s for i, s in enumerate(spans) if i == 0 or s.start >= spans[i - 1].end]
        res.append((doc_id, text, with_repeats(text, [ScoredSpan(s.start, s.end, s.type, 1.0) for s in spans])))
    return res


def main(argv=None) -> dict:
    "Time every operator on the notes; print one line per operator and the JSON summary."
    a = parse_args(argv)
    from seq2seq.deid.keys import Key
    from seq2seq.deid.redact import RedactConfig, redact
    notes = load(a.brat, a.map)
    key = Key(os.urandom(32), "random")
    res = dict(notes=len(notes), spans=sum(len(s) for _, _, s in notes), operators={})
    for op in OPERATORS:
        mode, keyed = op.split("+")[0], op.endswith("+key") or op in ("hash", "encrypt")
        cfg = RedactConfig(mode, lang=a.lang, key=key if keyed else None)
        best = None
        for _ in range(a.repeats):
            t0, w0 = os.times(), time.perf_counter()
            for doc_id, text, spans in notes: redact(text, spans, cfg, doc_id)
            t1, w1 = os.times(), time.perf_counter()
            cpu = (t1.user + t1.system) - (t0.user + t0.system)
            best = min(best or (cpu, w1 - w0), (cpu, w1 - w0))
        res["operators"][op] = dict(cpu_s=round(best[0], 3), wall_s=round(best[1], 3),
                                    notes_per_cpu_s=round(len(notes) / max(best[0], 1e-9), 1))
        print(f"{op:14s} {best[0]:7.2f} CPU-s  {best[1]:7.2f} s wall  {res['operators'][op]['notes_per_cpu_s']:8.1f} notes/CPU-s",
              file=sys.stderr)
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
