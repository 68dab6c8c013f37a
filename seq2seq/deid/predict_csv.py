"""Decode a whole CSV with a trained model, in chunks, writing as it goes (scripts/predict.py).

Memory stays flat in the number of rows; every input column, header, the delimiter and the row
order are kept, and every cell is quoted so any text survives (see seq2seq/formats/csvio.py); the output
is written to a temporary file renamed at the end, so an interrupted run leaves no OUT.
"""
import json
import os
from pathlib import Path
from typing import Optional

import pandas as pd

from .. import compat  # noqa: F401  (before fastai)
from fastprogress.fastprogress import progress_bar

from ..decoding.config import DecodeConfig, decode_config
from ..errors import DataError
from ..formats.csvio import QUOTING, SEPARATORS, check_header, pick_sep, read_header, scan_rows, sep_name
from ..text.scores import text_metrics
from ..text.tags import TagError, parse
from .references import map_ref_text, model_types, type_warning
from ..utils import temp_beside

__all__ = ["predict_csv", "check_output", "inspect_input", "read_chunks", "predict_chunk"]


def check_output(out) -> Path:
    "Fail early, before any decoding, when `out` cannot be written."
    out = Path(out)
    if out.parent.exists() and not out.parent.is_dir(): raise OSError(f"--out {out}: {out.parent} is not a folder")
    if not out.parent.is_dir(): raise OSError(f"--out {out}: folder {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK): raise OSError(f"--out {out}: folder {out.parent} is not writable")
    if out.is_dir(): raise OSError(f"--out {out}: is a folder")
    return out


def inspect_input(path: Path, src: str, ref: Optional[str], sep: Optional[str], added: list, overwrite: bool):
    """(delimiter, header, data rows) of the input, after every check that needs no decoding:
    the file, its encoding, its delimiter and header, NUL bytes, and the columns to add."""
    if not path.is_file(): raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0: raise DataError(f"{path}: the file is empty")
    try:
        sep = pick_sep(path, [src], sep)
        header = read_header(path, sep)
        if not header: raise DataError(f"{path}: the file has no header or rows")
        if src not in header:
            raise DataError(f"{path}: no column {src!r}; the file has {', '.join(map(repr, header))} (read with "
                            f"{sep_name(sep)} as the delimiter, also tried {', '.join(map(sep_name, SEPARATORS[1:]))}; "
                            "give --sep or --src)")
        check_header(path, header, sep)
        rows = scan_rows(path, sep)
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 (byte {e.start}: {e.reason}); re-save it as UTF-8") from e
    if ref is not None and ref not in header: raise DataError(f"{path}: no reference column {ref!r}")
    for c in added:
        if c in (src, ref): raise DataError(f"--pred-col {c!r} is the source or reference column; pick another name")
        if c in header and not overwrite:
            raise DataError(f"{path}: already has a column {c!r}; give another --pred-col or --overwrite-column")
    return sep, header, rows


def read_chunks(path: Path, sep: str, header: list, chunk_rows: int):
    "Read `path` in chunks of strings, with the header exactly as read (see seq2seq/formats/csvio.py)."
    try:
        yield from pd.read_csv(path, sep=sep, names=header, header=0, dtype=str, keep_default_na=False,
                               na_values=[""], chunksize=chunk_rows, encoding="utf-8")
    except pd.errors.ParserError as e:
        raise DataError(f"{path}: not a valid CSV with {sep_name(sep)} as the delimiter ({e})") from e


def predict_csv(learn, csv_in, out, cfg: Optional[DecodeConfig] = None, *, src: Optional[str] = None,
                pred_col: str = "prediction", ref: Optional[str] = None, chunk_rows: int = 2000, show: int = 0,
                sep: Optional[str] = None, overwrite_column: bool = False, log=print, ref_map: Optional[dict] = None,
                **options) -> dict:
    """Write `out`: `csv_in` plus a `pred_col` column (and `{pred_col}_nbest` with n_best > 1).

    Decoding follows `cfg` (a `DecodeConfig`), with `options` (its field names) replacing its fields.

    The input's delimiter (`sep`, else detected from the header: comma, semicolon, tab or pipe)
    and headers are kept; every cell is quoted, so any text survives. An input that already has
    `pred_col` is refused unless `overwrite_column`. With `ref` (a column of references) also
    writes `out.metrics.json` and returns the metrics: BLEU, chrF, exact match, span P/R/F1
    (micro and per type) and faithfulness; `ref_map` (`references.load_ref_map`) maps the
    reference's types first.
    """
    cfg = decode_config(cfg, **options)
    csv_in, out = Path(csv_in), check_output(out)
    src = src or learn.meta["src"]
    added = [pred_col] + ([f"{pred_col}_nbest"] if cfg.n_best > 1 else [])
    sep, header, total = inspect_input(csv_in, src, ref, sep, added, overwrite_column)
    if total == 0: raise DataError(f"{csv_in}: no rows")
    stats = getattr(getattr(learn, "model", None), "src_stats", None)  # an open-vocabulary model counts unseen tokens
    if stats is not None: stats.update(tokens=0, oov=0)
    keep = dict(preds=[], refs=[], srcs=[], empty=0, rows=0)
    with temp_beside(out) as tmp:  # renamed onto `out` only when every chunk is written
        chunks = read_chunks(csv_in, sep, header, chunk_rows)
        for i, chunk in enumerate(progress_bar(chunks, total=-(-total // chunk_rows))):
            predict_chunk(learn, chunk, src, pred_col, cfg)
            chunk.to_csv(tmp, mode="w" if i == 0 else "a", header=i == 0, index=False, sep=sep, quoting=QUOTING)
            _keep(keep, chunk, src, pred_col, ref, ref_map)
        if keep["rows"] == 0: raise DataError(f"{csv_in}: no rows")
    log(f"wrote {keep['rows']} rows to {out} ({keep['empty']} empty source cell(s) left empty)")
    if stats is not None and stats["tokens"]:
        log(f"{stats['oov']:,} of {stats['tokens']:,} source tokens ({stats['oov'] / stats['tokens']:.1%}) were out of "
            "the training vocabulary (read from their sub-words and shape)")
    return _report(learn, keep, out, ref, show, log)


def predict_chunk(learn, chunk: pd.DataFrame, src: str, pred_col: str, cfg: DecodeConfig):
    "Add the prediction column(s) to one chunk in place."
    res = learn.restore(chunk[src].tolist(), cfg, with_scores=True)
    chunk[pred_col] = [r[0][0] for r in res]
    if cfg.n_best > 1: chunk[f"{pred_col}_nbest"] = [json.dumps(r, ensure_ascii=False) for r in res]


def _keep(keep: dict, chunk: pd.DataFrame, src: str, pred_col: str, ref: Optional[str], ref_map=None):
    "Count rows and keep what the metrics need (only with a reference column, its types mapped by `ref_map`)."
    blank = chunk[src].isna() | (chunk[src].fillna("").str.strip() == "")
    keep["rows"] += len(chunk)
    keep["empty"] += int(blank.sum())
    if ref is None: return
    ok = ~blank & chunk[ref].notna()
    keep["preds"] += chunk.loc[ok, pred_col].tolist()
    keep["refs"] += [_mapped(r, ref_map) for r in chunk.loc[ok, ref].tolist()]
    keep["srcs"] += chunk.loc[ok, src].tolist()


def _mapped(annotated: str, ref_map: Optional[dict]) -> str:
    "A reference cell with its types mapped; a malformed one is left for the metrics to count."
    try: return map_ref_text(annotated, ref_map)
    except TagError: return annotated


def _ref_types(refs) -> list:
    "The span types of the well-formed annotated references."
    res = []
    for r in refs:
        try: res += [sp.type for sp in parse(r)[1]]
        except (TagError, TypeError): pass
    return res


def _report(learn, keep: dict, out: Path, ref: Optional[str], show: int, log) -> dict:
    "Metrics against the reference column, printed and written beside OUT."
    for p, r in list(zip(keep["preds"], keep["refs"]))[:show]:
        log(f"  prediction: {p}\n  reference:  {r}\n")
    if ref is None: return {}
    res = text_metrics(keep["preds"], keep["refs"], keep["srcs"], strip_source=learn.meta["task"] == "strip")
    res["empty_sources"] = keep["empty"]
    path = out.with_name(out.name + ".metrics.json") if out.suffix != ".csv" else out.with_suffix(".metrics.json")
    path.write_text(json.dumps(res, indent=2))
    sp, phi = res["spans"], res["phi"]
    log(f"BLEU {res['bleu']:.2f}  chrF {res['chrf']:.2f}  exact match {res['exact_match']:.4f}  "
        f"span P/R/F1 {sp['precision']:.4f}/{sp['recall']:.4f}/{sp['f1']:.4f}  "
        f"PHI recall {phi['phi_recall']:.4f} (over-redaction {phi['over_redaction']:.4f})  "
        f"faithfulness {res['faithfulness']:.4f}  (n={res['n']}; metrics: {path})")
    note = type_warning(_ref_types(keep["refs"]), model_types(learn))
    if note: log(f"warning: {note}")
    return res
