"""The job behind scripts/weak_label.py: plain texts -> labelling functions -> label model -> silver pair CSV."""
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import pandas as pd

from ..config import check, int_ge, option
from ..errors import DataError
from ..formats.csvio import scan_rows
from ..formats.paths import check_apart
from ..utils import atomic_write
from .builtin import FAMILIES, GAZETTEER_DIR, builtin_lfs, gazetteer_lf, model_lf, read_gazetteer
from .functions import LabellingFunction, LFError, apply_lfs, gold_spans, lf_report, load_lf_file, span_prf
from .label_model import LabelModelConfig, aggregate, silver_pairs

__all__ = ["WeakConfig", "collect_lfs", "read_texts", "weak_label"]


@dataclass
class WeakConfig:
    "One weak-labelling run; seq2seq-weak-label's options are its fields (and its label model's)."
    csv: str = option("", "input CSV (UTF-8, with a header)")
    out: str = option("", "silver pair CSV to write (and OUT.report.csv)")
    text_col: str = option("orig_text", "column of plain text to label")
    builtin: str = option(",".join(FAMILIES), "built-in families to use, comma-separated "
                                              f"({', '.join(FAMILIES)}), or 'none'")
    model: Optional[str] = option(None, "model.safetensors (or its folder) of a trained model, used as one more labelling function")
    label_model: LabelModelConfig = option(help="label model", default_factory=LabelModelConfig)
    ref: Optional[str] = option(None, "gold annotated column of --csv: adds each function's precision/recall "
                                      "to the report")
    min_confidence: float = option(0.0, "leave out rows whose confidence is lower")
    limit: Optional[int] = option(None, "read only the first N rows")
    lf_files: List[str] = option(help="Python files of @labelling_function functions", cli=False, default_factory=list)
    gazetteers: List[str] = option(help="FILE (with a '# type:' line) or TYPE=FILE", cli=False, default_factory=list)
    gazetteer_dir: Optional[str] = option(str(GAZETTEER_DIR), "the built-in lists (gazetteer family)", cli=False)

    def __post_init__(self):
        bad = sorted(set(self.families) - set(FAMILIES))
        check([(not bad, f"{{}}: unknown families {bad}; choose from {', '.join(FAMILIES)} or none", "builtin"),
               (0 <= self.min_confidence <= 1, f"{{}} must be in [0, 1] (got {self.min_confidence!r})", "min_confidence"),
               (self.limit is None or int_ge(self.limit, 1), f"{{}} must be >= 1 (got {self.limit!r})", "limit")])

    @property
    def families(self) -> List[str]:
        "The built-in families named by `builtin`."
        return [] if self.builtin.strip() == "none" else [f.strip() for f in self.builtin.split(",") if f.strip()]


def collect_lfs(cfg: WeakConfig, log=print) -> List[LabellingFunction]:
    "Built-in families, the user's gazetteers and files, and the model, in that order."
    lfs = builtin_lfs([f for f in cfg.families if f != "gazetteer"])
    if "gazetteer" in cfg.families and cfg.gazetteer_dir: lfs += builtin_lfs(["gazetteer"], cfg.gazetteer_dir)
    for g in cfg.gazetteers:
        typ, path = g.split("=", 1) if "=" in g else (None, g)
        typ, entries = read_gazetteer(path, typ)
        lfs.append(gazetteer_lf(f"gaz_{Path(path).stem}", entries, typ, log=log))
    for f in cfg.lf_files: lfs += load_lf_file(f)
    if cfg.model: lfs.append(model_lf(cfg.model))
    log(f"{len(lfs)} labelling functions: {', '.join(lf.name for lf in lfs)}")
    return lfs


def read_texts(cfg: WeakConfig) -> pd.DataFrame:
    """The input rows (all columns as strings, empty cells as ''); DataError names a missing column,
    and a NUL byte with its row and column (pandas would cut the cell there without a word)."""
    try:
        scan_rows(Path(cfg.csv), ",")
        df = pd.read_csv(cfg.csv, dtype=str, keep_default_na=False, nrows=cfg.limit)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataError(f"{cfg.csv}: not a readable UTF-8 CSV ({e})") from None
    for col in [cfg.text_col] + ([cfg.ref] if cfg.ref else []):
        if col not in df.columns:
            raise DataError(f"{cfg.csv}: no column {col!r} (columns: {', '.join(df.columns)})")
    return df


def _report_path(out: Path) -> Path:
    return out.with_name(out.name + ".report.csv")


def _inputs(cfg: WeakConfig) -> list:
    "What the run reads, as (flag, path): --csv, the --lf files, the --gazetteer files, --model."
    gaz = [g.split("=", 1)[1] if "=" in g and not Path(g).exists() else g for g in cfg.gazetteers]
    return ([("--csv", cfg.csv)] + [("--lf", f) for f in cfg.lf_files] + [("--gazetteer", g) for g in gaz]
            + [("--model", cfg.model)])


def _check_failures(votes, n_rows: int, log) -> None:
    """Say which functions failed on rows (one warning each, with the first failure); stop the run
    (LFError) when every function failed on every row it was given: there is nothing to aggregate."""
    failed = {n: k for n, k in votes.errors.items() if k}
    for name, k in failed.items():
        log(f"warning: labelling function {name!r} failed on {k} of {n_rows} rows ({votes.failures.get(name, '?')}); "
            "its votes there are left out")
    if n_rows and votes.names and all(failed.get(n, 0) >= n_rows for n in votes.names):
        first = next(iter(failed))
        raise LFError(f"every labelling function failed on every row (first: {first!r}: {votes.failures.get(first)}); "
                      "nothing written")


def weak_label(cfg: WeakConfig, log=print) -> tuple:
    """Label `cfg.csv`'s texts and write the silver CSV `cfg.out` (orig_text, annotated_text,
    confidence; rows below `min_confidence` left out) and `cfg.out` + `.report.csv` (one row per
    function, see `weak.lf_report`). Returns `(summary dict, report DataFrame)`."""
    out = Path(cfg.out)
    check_apart([("--out", out), ("--out", _report_path(out))], _inputs(cfg))
    df = read_texts(cfg)
    lfs = collect_lfs(cfg, log)
    texts = list(df[cfg.text_col])
    empty = sum(not t for t in texts)
    votes = apply_lfs(texts, lfs, log=log, progress=True)
    _check_failures(votes, len(texts) - empty, log)
    spans, confs = aggregate(votes, cfg.label_model, log=log)
    pairs = silver_pairs(votes, spans, confs, log=log)
    kept = pairs[pairs.confidence >= cfg.min_confidence]
    report = lf_report(votes, list(df[cfg.ref]) if cfg.ref else None)
    atomic_write(out, lambda p: kept.to_csv(p, index=False))
    atomic_write(_report_path(out), lambda p: report.to_csv(p))
    res = {"rows": len(texts), "empty": empty, "written": len(kept), "below_confidence": len(pairs) - len(kept),
           "spans": int(sum(len(s) for s in spans)), "lf_errors": int(sum(votes.errors.values()))}
    if cfg.ref:
        res["silver_vs_ref"] = span_prf(spans, gold_spans(list(df[cfg.ref])))
    return res, report
