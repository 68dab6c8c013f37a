#!/usr/bin/env python
"""Restoration quality on real corpora: one table per corpus, every system trained and scored in one run.

Systems (rows), all on the same sentences and seed:
  copy       the source unchanged (no model): the floor every system must beat
  crf        the CRF tagger baseline (seq2seq/models/crf.py), trained here on the same training rows
  seed, attention, aligned
             the seq2seq architectures, trained with `training.train` and a `TrainConfig` whose
             every field is the default (what `scripts/train.py --csv ... --lang ... --out ...` gives)
             except the architecture; decoded greedy and faithful with `learn.restore`.
An architecture this version of the package does not know is skipped with a note. `--set` and
`--max-train-rows` cap a system to fit a time budget; a capped row says so in its note.

Columns: train CPU-minutes, decoding speed (sentences per CPU-second, greedy, faithful), strict
micro span P/R/F1 (`metrics.span_scores`: exact offsets and type), span F1 of the five most frequent
types in the test references, exact match and faithfulness. CPU time is `resource.getrusage`
(this process and its waited-for children), so the figures hold on a busy machine.

Corpora (under --shared, read-only): meddocan (es; train.csv -> all of dev.csv), presidio (en;
seeded 80/20 split of synth.csv), wikigold (en, CoNLL types; seeded 80/20 split of wikigold.csv).
Writes OUT/quality.md, OUT/results.json, the splits in OUT/CORPUS/data and the models in
OUT/CORPUS/models/SYSTEM. Prints the tables and, as the last line, one JSON object.

    python benchmarks/quality.py --corpus meddocan --systems copy,crf        # minutes
    python benchmarks/quality.py --corpus presidio,wikigold                    # every system, defaults
    python benchmarks/quality.py --systems copy,crf,seed,aligned --max-train-rows seed=6000 \\
        --set seed.epochs=3                                                    # the slow seed arch, capped
"""
import argparse
import contextlib
import json
import resource
import sys
import time
import warnings
from dataclasses import fields, is_dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

from seq2seq.commands.cli import run  # noqa: E402
from seq2seq.errors import DataError  # noqa: E402
from seq2seq.data.pairs import read_pairs  # noqa: E402
from seq2seq.errors import ConfigError  # noqa: E402

__all__ = ["CORPORA", "load_corpus", "arch_config", "run_system", "score", "main"]

CORPORA = {"meddocan": ("es", ("train.csv", "dev.csv")), "presidio": ("en", ("synth.csv",)),
           "wikigold": ("en", ("wikigold.csv",))}
ARCHS = ("seed", "attention", "aligned")
SYSTEMS = ("copy", "crf") + ARCHS
LEGACY = {"seed": False, "attention": True}  # arch -> ModelConfig.attention, for a ModelConfig without `arch`
N_TYPES = 5


def _parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default="meddocan", help=f"comma-separated, from {','.join(CORPORA)} (default meddocan)")
    p.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated rows, from {','.join(SYSTEMS)} "
                   "(default: all)")
    p.add_argument("--shared", default=str(ROOT.parent / "shared"), help="folder holding corpora/ (default ../shared)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "quality"), help="output folder")
    p.add_argument("--train-rows", type=int, help="seeded sample of every corpus's training rows, for all systems "
                   "(default: all)")
    p.add_argument("--dev-rows", type=int, help="seeded sample of the test rows (default: all)")
    p.add_argument("--test-pct", type=float, default=0.2, help="presidio, wikigold: share held out (default 0.2)")
    p.add_argument("--max-train-rows", action="append", default=[], metavar="SYSTEM=N",
                   help="train SYSTEM on a seeded sample of N training rows (labelled as capped; repeatable)")
    p.add_argument("--set", action="append", default=[], metavar="SYSTEM.FIELD=VALUE", dest="sets",
                   help="override one setting of a system (labelled as capped; repeatable): a TrainConfig field "
                   "(seed.epochs=3), a ModelConfig field (seed.model.hidden=128) or a CrfConfig field "
                   "(crf.max_iterations=50)")
    p.add_argument("--decode-bs", type=int, default=64, help="sentences per decoding batch (default 64)")
    p.add_argument("--seed", type=int, default=42, help="seed of the samples, the splits and training (default 42)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    a = p.parse_args(argv)
    a.corpus = _names(p, a.corpus, CORPORA, "--corpus")
    a.systems = _names(p, a.systems, SYSTEMS, "--systems")
    a.caps = {k: int(v) for k, v in (_key_value(p, s, "--max-train-rows") for s in a.max_train_rows)}
    a.overrides = _overrides(p, a.sets)
    for name in ("train_rows", "dev_rows", "decode_bs", "threads"):
        v = getattr(a, name)
        if v is not None and v < 1: p.error(f"--{name.replace('_', '-')} must be >= 1")
    if any(v < 1 for v in a.caps.values()): p.error("--max-train-rows: N must be >= 1")
    if not 0 < a.test_pct < 1: p.error("--test-pct must be between 0 and 1")
    return a


def _names(p, value: str, allowed, flag: str) -> list:
    "Comma-separated names, each checked against `allowed`, in the order given."
    res = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in res if v not in allowed]
    if bad or not res: p.error(f"{flag}: choose from {', '.join(allowed)} (got {value!r})")
    return list(dict.fromkeys(res))


def _key_value(p, s: str, flag: str):
    "('seed', '6000') from 'seed=6000', the key checked against the systems."
    key, eq, val = s.partition("=")
    if not eq or key not in SYSTEMS or not val.lstrip("-").isdigit():
        p.error(f"{flag}: expected SYSTEM=N with SYSTEM in {','.join(SYSTEMS)} (got {s!r})")
    return key, val


def _overrides(p, sets) -> dict:
    "{system: {'epochs': '3', 'model.hidden': '128'}} from the --set strings (checked in `_apply`)."
    res = {}
    for s in sets:
        path, eq, val = s.partition("=")
        sysname, dot, fld = path.partition(".")
        if not eq or not dot or sysname not in SYSTEMS[1:]:
            p.error(f"--set: expected SYSTEM.FIELD=VALUE with SYSTEM in {','.join(SYSTEMS[1:])} (got {s!r})")
        res.setdefault(sysname, {})[fld] = val
    return res


def _convert(val: str, current, where: str):
    "`val` as the type of the field's current value (bool, int, float, str; a None default takes a number)."
    try:
        if isinstance(current, bool):
            if val.lower() not in ("true", "false", "1", "0"): raise ValueError(val)
            return val.lower() in ("true", "1")
        if isinstance(current, int): return int(val)
        if isinstance(current, float) or current is None: return float(val)
        return type(current)(val)
    except ValueError:
        raise ConfigError("--set {}={}: not a valid " + type(current).__name__, where, val) from None


def _apply(cfg, overrides: dict, system: str):
    """A copy of the dataclass `cfg` with each 'field' or 'model.field' of `overrides` set, rebuilt with
    `dataclasses.replace` so the config validates itself; an unknown field is one clear error."""
    own, nested = {}, {}
    for path, val in overrides.items():
        head, dot, rest = path.partition(".")
        if head not in {f.name for f in fields(cfg)} or (dot and not is_dataclass(getattr(cfg, head))):
            raise ConfigError("--set {}.{}: " + type(cfg).__name__ + " has no such field", system, path)
        if dot: nested.setdefault(head, {})[rest] = val
        else: own[head] = _convert(val, getattr(cfg, head), f"{system}.{path}")
    for head, ov in nested.items(): own[head] = _apply(getattr(cfg, head), ov, f"{system}.{head}")
    return replace(cfg, **own)


def _check_overrides(a):
    "Apply every --set to a default config of its system, so a bad one fails before any training."
    from seq2seq.models.crf import CrfConfig
    from seq2seq.training.config import TrainConfig
    for system, ov in a.overrides.items(): _apply(CrfConfig() if system == "crf" else TrainConfig(), ov, system)


def _sample(df: pd.DataFrame, n, seed: int) -> pd.DataFrame:
    "A seeded sample of `n` rows in their original order (all rows when `n` is None or too large)."
    if n is None or n >= len(df): return df.reset_index(drop=True)
    idx = np.sort(np.random.RandomState(seed).permutation(len(df))[:n])
    return df.iloc[idx].reset_index(drop=True)


def load_corpus(name: str, a) -> tuple:
    """(training pairs, test pairs, spaCy language) of corpus `name`.

    meddocan: train.csv and all of dev.csv; the others: a seeded `a.test_pct` split of their one
    file. `a.train_rows`/`a.dev_rows` sample them. Raises `DataError` when the corpus is absent.
    """
    lang, files = CORPORA[name]
    folder = Path(a.shared) / "corpora" / name
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise DataError(f"corpus {name!r} not found: no {folder / missing[0]} (pass --shared DIR, "
                        f"the folder holding corpora/)")
    if len(files) == 2:
        train, test = (read_pairs(folder / f, verbose=False) for f in files)
    else:
        pairs = read_pairs(folder / files[0], verbose=False)
        n_test = max(1, int(round(a.test_pct * len(pairs))))
        perm = np.random.RandomState(a.seed).permutation(len(pairs))
        train, test = pairs.iloc[np.sort(perm[n_test:])], pairs.iloc[np.sort(perm[:n_test])]
    return _sample(train, a.train_rows, a.seed), _sample(test, a.dev_rows, a.seed), lang


def _write(df: pd.DataFrame, path: Path) -> Path:
    "Write `df` as a CSV at `path` (folders created)."
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return path


def _cpu_s() -> float:
    "CPU seconds (user + system) of this process and of its finished children."
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


@contextlib.contextmanager
def _clock(res: dict, prefix: str):
    "Add `PREFIX_cpu_s` and `PREFIX_wall_s` spent inside the block to `res`."
    c0, w0 = _cpu_s(), time.perf_counter()
    yield res
    res.update({f"{prefix}_cpu_s": _cpu_s() - c0, f"{prefix}_wall_s": time.perf_counter() - w0})


@contextlib.contextmanager
def _quiet():
    "Hide fastai's progress bars and known warnings; send its epoch tables to stderr, keeping stdout for ours."
    import fastprogress.fastprogress as fp
    orig, fp.NO_BAR = fp.NO_BAR, True
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
            warnings.simplefilter("ignore", np.VisibleDeprecationWarning)  # fastai v1's ragged arrays
            warnings.filterwarnings("ignore", message=".*pin_memory.*")   # fastai asks for it on CPU too
            yield
    finally:
        fp.NO_BAR = orig


def _log(msg: str):
    "Progress goes to stderr, so stdout holds only the tables and the JSON line."
    print(msg, file=sys.stderr, flush=True)


def default_arch() -> str:
    "The architecture `ModelConfig()` builds: its `arch` field, or 'seed' in a version without one."
    from seq2seq.models.config import ModelConfig
    return getattr(ModelConfig(), "arch", "seed")


def arch_config(arch: str):
    """`ModelConfig` of architecture `arch` with every other field at its default, or None when this
    version of the package cannot build it (no `arch` field and not one of the legacy two)."""
    from seq2seq.models.config import ModelConfig
    if "arch" in {f.name for f in fields(ModelConfig)}: return ModelConfig(arch=arch)
    return ModelConfig(attention=LEGACY[arch]) if arch in LEGACY else None


def _cap_note(system: str, a, n_rows) -> str:
    "'capped: 6000 rows, epochs=3' for a system trained on `n_rows` sampled rows (None: all) or under --set, else ''."
    parts = [f"{n_rows} rows"] if n_rows is not None else []
    parts += [f"{k}={v}" for k, v in a.overrides.get(system, {}).items()]
    return "capped: " + ", ".join(parts) if parts else ""


def _train_crf(train: pd.DataFrame, test: pd.DataFrame, lang: str, a, folder: Path) -> dict:
    "Fit the CRF on `train`, save it to `folder`, tag `test`: the figures and predictions."
    from seq2seq.models.crf import CrfConfig, train_crf
    cfg = _apply(CrfConfig(), a.overrides.get("crf", {}), "crf")
    res = {}
    with _clock(res, "train"): tagger = train_crf(train, lang=lang, cfg=cfg)
    tagger.save(folder)
    with _clock(res, "decode"): res["preds"] = tagger.annotate(test["orig_text"].tolist())
    return res


def _train_arch(arch: str, train_csv: Path, test: pd.DataFrame, lang: str, a, folder: Path) -> dict:
    "Train architecture `arch` with `training.train` into `folder`, reload it and restore `test` greedy, faithful."
    from seq2seq.training.learner import load_seq2seq
    from seq2seq.training.config import TrainConfig
    from seq2seq.training.job import train
    from seq2seq.utils import seed_everything
    mcfg = arch_config(arch)
    if mcfg is None: return {"skipped": f"architecture {arch!r} is not in this version (ModelConfig has no `arch`)"}
    cfg = _apply(TrainConfig(csv=str(train_csv), out=str(folder), lang=lang, seed=a.seed, threads=a.threads,
                             model=mcfg), a.overrides.get(arch, {}), arch)
    seed_everything(a.seed)  # same initial weights and batches in every run
    res = {}
    with _clock(res, "train"), _quiet():
        res["train_figures"] = train(cfg, log=lambda m: _log(f"  [{arch}] {m}"))
    learn = load_seq2seq(folder)
    with _clock(res, "decode"), _quiet():
        res["preds"] = learn.restore(test["orig_text"].tolist(), decoder="greedy", faithful=True, bs=a.decode_bs)
    return res


def run_system(system: str, train: pd.DataFrame, test: pd.DataFrame, lang: str, a, out: Path) -> dict:
    """Train `system` on `train` (capped per --max-train-rows) and decode `test.orig_text`.

    Returns `preds`, `train_cpu_s`/`train_wall_s`, `decode_cpu_s`/`decode_wall_s`, `n_train` and
    `note` (capped, default), or `skipped` with the reason.
    """
    rows = _sample(train, a.caps.get(system), a.seed)
    note = _cap_note(system, a, len(rows) if len(rows) < len(train) else None)
    if system == "copy":
        res = {"preds": test["orig_text"].tolist(), "train_cpu_s": 0.0, "train_wall_s": 0.0,
               "decode_cpu_s": 0.0, "decode_wall_s": 0.0}  # nothing to decode: no speed to report
    elif system == "crf":
        res = _train_crf(rows, test, lang, a, out / "models" / "crf")
    else:
        capped = len(rows) < len(train)
        csv = _write(rows, out / "data" / f"train_{system}.csv") if capped else out / "data" / "train.csv"
        res = _train_arch(system, csv, test, lang, a, out / "models" / system)
        if system == default_arch() and "skipped" not in res: note = "; ".join(filter(None, ["default", note]))
    return {**res, "n_train": len(rows), "note": note}


def score(preds, test: pd.DataFrame, types) -> dict:
    "Strict micro span P/R/F1, F1 of each of `types`, exact match and faithfulness of `preds` against `test`."
    from seq2seq.text.scores import exact_match, faithfulness, span_scores
    refs = test["annotated_text"].tolist()
    sp = span_scores(preds, refs)
    return {"precision": sp["precision"], "recall": sp["recall"], "f1": sp["f1"], "support": sp["support"],
            "type_f1": {t: sp["per_type"].get(t, {}).get("f1", 0.0) for t in types},
            "exact_match": exact_match(preds, refs), "faithfulness": faithfulness(preds, test["orig_text"].tolist())}


def top_types(test: pd.DataFrame, n: int = N_TYPES) -> list:
    "The `n` most frequent span types of the test references (ties by name)."
    from collections import Counter
    from seq2seq.text.tags import tag_types
    c = Counter(t for r in test["annotated_text"] for t in tag_types(r))
    return [t for t, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def run_corpus(name: str, a, out: Path) -> dict:
    "Every system of `a.systems` on corpus `name`: {'lang', 'n_train', 'n_test', 'types', 'systems': {...}}."
    train, test, lang = load_corpus(name, a)
    _write(train, out / "data" / "train.csv")
    _write(test, out / "data" / "test.csv")
    types = top_types(test)
    _log(f"{name}: {len(train)} training rows, {len(test)} test rows, lang {lang}; top types {', '.join(types)}")
    res = {"lang": lang, "n_train": len(train), "n_test": len(test), "types": types, "systems": {}}
    for s in a.systems:
        _log(f"{name}: {s} ...")
        r = run_system(s, train, test, lang, a, out)
        if "skipped" not in r:
            r.update(score(r.pop("preds"), test, types))
            r["sentences_per_s"] = len(test) / r["decode_cpu_s"] if r["decode_cpu_s"] > 0 else None
            _log(f"  {s}: F1 {r['f1']:.4f}, train {r['train_cpu_s'] / 60:.2f} CPU-min")
        else: _log(f"  {s}: skipped ({r['skipped']})")
        res["systems"][s] = r
    return res


def table(name: str, res: dict) -> str:
    "The Markdown table of one corpus: a row per system."
    types = res["types"]
    head = ["system", "train CPU-min", "sentences/CPU-s", "P", "R", "F1"] + [f"F1 {t}" for t in types] + \
           ["exact", "faithful", "note"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s, r in res["systems"].items():
        if "skipped" in r:
            rows.append(f"| {s} |" + " - |" * (len(head) - 2) + f" skipped: {r['skipped']} |")
            continue
        sps = "-" if r["sentences_per_s"] is None else f"{r['sentences_per_s']:,.0f}"
        cells = [s, f"{r['train_cpu_s'] / 60:.2f}", sps] + [f"{r[k]:.4f}" for k in ("precision", "recall", "f1")]
        cells += [f"{r['type_f1'][t]:.4f}" for t in types]
        cells += [f"{r['exact_match']:.4f}", f"{r['faithfulness']:.4f}", r["note"]]
        rows.append("| " + " | ".join(cells) + " |")
    head = f"**{name}** ({res['lang']}): {res['n_train']} training rows, {res['n_test']} test rows"
    return head + "\n\n" + "\n".join(rows)


def _summary(a, corpora: dict) -> dict:
    "The key figures as one JSON-ready dict (the last printed line)."
    rnd = lambda x: None if x is None else round(float(x), 4)
    res = {"corpora": {}, "config": {"seed": a.seed, "threads": a.threads, "train_rows": a.train_rows,
                                     "dev_rows": a.dev_rows, "caps": a.caps, "overrides": a.overrides}}
    for name, c in corpora.items():
        systems = {}
        for s, r in c["systems"].items():
            if "skipped" in r: systems[s] = {"skipped": r["skipped"]}; continue
            systems[s] = {"train_cpu_min": rnd(r["train_cpu_s"] / 60), "sentences_per_s": rnd(r["sentences_per_s"]),
                          **{k: rnd(r[k]) for k in ("precision", "recall", "f1", "exact_match", "faithfulness")},
                          "type_f1": {t: rnd(v) for t, v in r["type_f1"].items()}, "n_train": r["n_train"],
                          "note": r["note"]}
        res["corpora"][name] = {"n_train": c["n_train"], "n_test": c["n_test"], "systems": systems}
    return res


def main(argv=None) -> dict:
    "Parse `argv`, run every system on every corpus, write and print the tables, then one JSON line."
    a = _parse(argv)
    import torch
    torch.set_num_threads(a.threads)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in a.corpus: load_corpus(name, a)  # a missing corpus fails before any training
    _check_overrides(a)                          # and so does a --set of a field that does not exist
    corpora = {name: run_corpus(name, a, out / name) for name in a.corpus}
    head = (f"one run, {torch.get_num_threads()} thread(s), seed {a.seed}; strict micro span scores; "
            "decoding greedy, faithful")
    md = f"# Restoration quality\n\n{head}\n\n" + "\n\n".join(table(n, c) for n, c in corpora.items())
    (out / "quality.md").write_text(md + "\n", encoding="utf-8")
    full = {"args": {k: v for k, v in vars(a).items()}, "corpora": corpora}
    (out / "results.json").write_text(json.dumps(full, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    print(md)
    print(f"\nwritten: {out / 'quality.md'}, {out / 'results.json'}")
    res = _summary(a, corpora)
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    sys.exit(run(main))
