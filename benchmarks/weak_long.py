#!/usr/bin/env python
"""Weak labelling of one long cell: CPU seconds against the cell's length, in one run.

Builds cells of --sizes characters from a sentence with PHI (a doctor, a date, a record number)
and plain sentences: `dense` (every line has PHI) and `sparse` (one PHI line every ~25 KB, a long
record), runs three regular-expression labelling functions (`apply`) and each label model of
--methods (`aggregate`) on each, and prints CPU seconds (user + system of this process, from
getrusage) per step and per MB. Linear cost shows as a flat seconds-per-MB column. The last line is
one JSON object: "method/kind/size" -> {apply_s, aggregate_s, spans}.
"""
import argparse
import json
import resource

SENT = "Seen by Dr. Smith on 3/4/2091 at the clinic of St. Mary; MRN 4417302 noted.\n"
PLAIN = "The patient reports mild pain in the left knee after walking, no fever, appetite preserved.\n"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="250000,500000,1000000", help="cell lengths in characters, comma-separated")
    p.add_argument("--methods", default="vote,hmm", help="label models, comma-separated")
    p.add_argument("--kinds", default="dense,sparse", help="dense, sparse or both")
    a = p.parse_args(argv)
    a.sizes = [int(s) for s in a.sizes.split(",")]
    a.methods, a.kinds = a.methods.split(","), a.kinds.split(",")
    if min(a.sizes) < 1000: p.error("--sizes must be >= 1000")
    return a


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cell(kind: str, size: int) -> str:
    "A cell of about `size` characters (see the module docstring)."
    unit = SENT if kind == "dense" else SENT + PLAIN * 270
    return (unit * (size // len(unit) + 1))[:size]


def main(argv=None) -> dict:
    a = parse_args(argv)
    import skweak.generative, skweak.voting  # noqa: F401,E401  (their import is not what is measured)
    from seq2seq.weak.builtin import regex_lf
    from seq2seq.weak.functions import apply_lfs
    from seq2seq.weak.label_model import LabelModelConfig, aggregate
    lfs = [regex_lf("date", r"\d{1,2}/\d{1,2}/\d{4}", "DATE"), regex_lf("doctor", r"(?<=Dr\. )[A-Z]\w+", "NAME:DOCTOR"),
           regex_lf("mrn", r"(?<=MRN )\d+", "ID:MEDICALRECORD")]
    res = {}
    print(f"{'method':<6} {'kind':<7} {'chars':>9} {'spans':>7} {'apply s':>8} {'aggregate s':>12} {'s per MB':>9}")
    for method in a.methods:
        for kind in a.kinds:
            for size in a.sizes:
                text = cell(kind, size)
                t0 = _cpu()
                votes = apply_lfs([text], lfs, log=lambda m: None)
                t1 = _cpu()
                spans, _ = aggregate(votes, LabelModelConfig(method), log=lambda m: None)
                t2 = _cpu()
                r = dict(apply_s=round(t1 - t0, 2), aggregate_s=round(t2 - t1, 2), spans=len(spans[0]))
                res[f"{method}/{kind}/{size}"] = r
                print(f"{method:<6} {kind:<7} {size:>9,} {r['spans']:>7,} {r['apply_s']:>8} {r['aggregate_s']:>12} "
                      f"{(t2 - t0) / size * 1e6:>9.2f}")
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
