"""Predicted documents out, in standard formats, written atomically.

With `formats == ["csv"]` the output `out` is one CSV file; otherwise `out` is a folder that gets

    predictions.jsonl   one JSON object a document: id, text, spans [{start, end, type, text, score, origin}],
                        and `redacted` when a redaction was asked for (each span then has its `replacement`)
    predictions.csv     id, text, the inline-annotated text, redacted (+ the input's columns for CSV input)
    brat/               DOC.txt (the exact text) + DOC.ann (`T1<TAB>TYPE START END<TAB>TEXT`)
    i2b2/               DOC.xml in the i2b2-2014 layout (`<TEXT>` + `<TAGS>`)
    redacted/           DOC.txt, the redacted copy of each document (with a redaction of document input, whatever
                        the formats; beside a CSV-only output as OUT-redacted/)

`convert.read_brat` / `convert.read_i2b2` read our brat and i2b2 output back to exactly the
predicted spans. Everything is first written under a temporary name beside its target and put in
place together at the end (`output_set.OutputSet`), so an interrupted or failed run leaves no
partial output; an existing output is refused (before any decoding, `check_outputs`) unless
`overwrite`, and even then only files this tool wrote (listed in the folder's manifest,
`.seq2seq-manifest.json`) are replaced. No output may be, hold or lie inside an input
(`paths.check_apart`).
"""
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence
from xml.sax.saxutils import escape, quoteattr

import pandas as pd

from ..errors import UserError
from ..text.tags import annotate
from .output_set import OutputSet
from .paths import check_apart

__all__ = ["OUTPUT_FORMATS", "OutputConfig", "OutputError", "targets", "planned", "check_outputs", "write_outputs",
           "jsonl_record", "brat_ann", "i2b2_xml"]

OUTPUT_FORMATS = ("csv", "jsonl", "brat", "i2b2")
_NAMES = {"csv": "predictions.csv", "jsonl": "predictions.jsonl", "brat": "brat", "i2b2": "i2b2"}


class OutputError(UserError):
    "An output cannot be written as asked (unknown format, existing files without --overwrite)."


@dataclass
class OutputConfig:
    """Where and how predictions are written.

    out: a CSV file when formats is just csv, else a folder (see the module docstring).
    formats: some of OUTPUT_FORMATS. overwrite: replace existing outputs.
    min_score: spans scored below it are dropped. html: also write a review page there.
    """
    out: str
    formats: List[str] = field(default_factory=lambda: ["csv"])
    overwrite: bool = False
    min_score: float = 0.0
    html: Optional[str] = None

    def __post_init__(self):
        bad = [f for f in self.formats if f not in OUTPUT_FORMATS]
        if bad: raise OutputError(f"--output-format {bad[0]!r}: choose among {', '.join(OUTPUT_FORMATS)}")
        if not self.formats: raise OutputError("--output-format: give at least one format")
        if not 0 <= self.min_score <= 1: raise OutputError(f"--min-score {self.min_score}: must be in [0, 1]")
        self.formats = list(dict.fromkeys(self.formats))


def targets(cfg: OutputConfig, redacted: bool, documents: bool = False) -> Dict[str, Path]:
    """The paths the outputs go to, by format, plus `redacted` for the redacted copies as files: always for
    `documents` (notes, not CSV rows), else with brat or i2b2 output."""
    out = Path(cfg.out)
    if cfg.formats == ["csv"]:
        return {"csv": out, **({"redacted": out.with_name(out.stem + "-redacted")} if redacted and documents else {})}
    res = {f: out / _NAMES[f] for f in cfg.formats}
    if redacted and (documents or {"brat", "i2b2"} & set(cfg.formats)): res["redacted"] = out / "redacted"
    return res


def _root(cfg: OutputConfig) -> Optional[Path]:
    "The output folder whose manifest lists our files; None when `out` is one CSV file the user named."
    return None if cfg.formats == ["csv"] else Path(cfg.out)


def planned(cfg: OutputConfig, doc_ids: Sequence[str], redacted: bool, documents: bool = False) -> List[Path]:
    "Every file the outputs of `cfg` write for the documents `doc_ids`."
    res = []
    for fmt, dest in targets(cfg, redacted, documents).items():
        if fmt in ("csv", "jsonl"): res.append(dest)
        else: res += [dest / f"{i}.{e}" for i in doc_ids for e in _FILES[fmt]]
    return res


_FILES = {"brat": ("txt", "ann"), "i2b2": ("xml",), "redacted": ("txt",)}


def _taken(p: Path) -> bool:
    "True when writing `p` would replace something: an existing file, or a folder that is not empty."
    return p.is_file() or (p.is_dir() and any(p.iterdir()))


def check_outputs(cfg: OutputConfig, redacted: bool, documents: bool = False, inputs=(),
                  doc_ids: Optional[Sequence[str]] = None, extra: Sequence = ()) -> Dict[str, Path]:
    """Fail early (before decoding) when an output cannot be written: it is, holds or lies inside one
    of `inputs` (`(flag, path)` pairs, see `paths.check_apart`), it exists and `overwrite` is off, or
    (with `doc_ids`, the documents to write, and `extra` files) one of its files exists and is not
    one this tool wrote (`output_set.OutputSet.check`). `documents`: notes, whose redacted copies are
    always written as files (`targets`)."""
    paths, csv_only = targets(cfg, redacted, documents), cfg.formats == ["csv"]
    if csv_only and Path(cfg.out).is_dir(): raise OutputError(f"--out {cfg.out}: is a folder; give a CSV file name")
    if not csv_only and Path(cfg.out).is_file(): raise OutputError(f"--out {cfg.out}: is a file; give a folder")
    check_apart([("--out", cfg.out)] + [("--out", p) for p in paths.values()] + [("--html", cfg.html)], inputs)
    for fmt, p in paths.items():
        if fmt in _FILES and p.exists() and not p.is_dir(): raise OutputError(f"--out: {p} is a file; {fmt} output is a folder")
        if _taken(p) and not cfg.overwrite:
            what = "folder holds files" if p.is_dir() else "file exists"
            raise OutputError(f"--out: {p}: the {what}; pass --overwrite to replace it (only files this tool wrote "
                              "there are ever replaced)")
    parent = Path(cfg.out).parent if csv_only else Path(cfg.out)
    if parent.exists() and not os.access(parent, os.W_OK): raise OutputError(f"--out: {parent} is not writable")
    if doc_ids is not None:
        OutputSet(_root(cfg), cfg.overwrite).check(planned(cfg, doc_ids, redacted, documents) + [Path(p) for p in extra])
    return paths


# ---------------------------------------------------------------- one document in each format

def _span_dicts(pred, replacements: Optional[Sequence[str]] = None) -> List[dict]:
    "The spans of a DocumentPrediction as JSON-ready dicts (with what replaced each in the redacted copy)."
    t = pred.doc.text
    res = [dict(start=s.start, end=s.end, type=s.type, text=t[s.start:s.end], score=round(s.score, 6),
                origin=s.origin) for s in pred.spans]
    for d, r in zip(res, replacements or ()): d["replacement"] = r
    return res


def jsonl_record(pred, redacted: Optional[str] = None, replacements: Optional[Sequence[str]] = None) -> str:
    "One line of predictions.jsonl (no newline at the end)."
    rec = dict(id=pred.doc.doc_id, text=pred.doc.text, spans=_span_dicts(pred, replacements))
    if redacted is not None: rec["redacted"] = redacted
    return json.dumps(rec, ensure_ascii=False)


def brat_ann(pred) -> str:
    "The `.ann` text of a document: one `T` line a span (line breaks of a span's text as spaces)."
    lines = []
    for k, s in enumerate(pred.spans, 1):
        quoted = pred.doc.text[s.start:s.end].replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
        lines.append(f"T{k}\t{s.type} {s.start} {s.end}\t{quoted}\n")
    return "".join(lines)


_XML_BAD = {c for c in range(32) if c not in (9, 10, 13)} | {0xFFFE, 0xFFFF}


def _xml_text(text: str, doc_id: str) -> str:
    "`text` escaped for an XML element; `\\r` as `&#13;` so that a parser gives it back (not as `\\n`)."
    bad = next((i for i, c in enumerate(text) if ord(c) in _XML_BAD or 0xD800 <= ord(c) <= 0xDFFF), None)
    if bad is not None: raise OutputError(f"{doc_id}: character {ord(text[bad]):#x} at {bad} cannot be written in XML")
    return escape(text).replace("\r", "&#13;")


def i2b2_xml(pred) -> str:
    "The i2b2-2014 XML of a document: `<TEXT>` and one `<TAGS>` child a span (`NAME:DOCTOR` -> `<NAME TYPE=\"DOCTOR\">`)."
    t, tags = pred.doc.text, []
    for k, s in enumerate(pred.spans):
        cat, _, sub = s.type.partition(":")
        tags.append(f'<{cat} id="P{k}" start="{s.start}" end="{s.end}" text={quoteattr(t[s.start:s.end])} '
                    f'TYPE={quoteattr(sub or cat)} comment="" score="{s.score:.6f}" />')
    return ('<?xml version="1.0" encoding="UTF-8" ?>\n<deIdi2b2>\n'
            f"<TEXT>{_xml_text(t, pred.doc.doc_id)}</TEXT>\n<TAGS>\n" + "".join(x + "\n" for x in tags) + "</TAGS>\n</deIdi2b2>\n")


def _csv_frame(preds, redacted: Optional[Sequence[str]], replacements=None) -> pd.DataFrame:
    "One row a document: its input columns (CSV input) or id + text, then the annotated text and redacted copy."
    rows = []
    for k, p in enumerate(preds):
        row = dict(p.doc.fields) or dict(id=p.doc.doc_id, text=p.doc.text)
        row["prediction"] = annotate(p.doc.text, [(s.start, s.end, s.type) for s in p.spans])
        row["spans"] = json.dumps(_span_dicts(p, replacements and replacements[k]), ensure_ascii=False)
        if redacted is not None: row["redacted"] = redacted[k]
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- writing it all

def _write(fmt: str, dest: Path, preds, redacted: Optional[Sequence[str]], outs: OutputSet, replacements=None):
    "Write format `fmt` of all `preds` at `dest` (a file, or a folder of one or two files a document)."
    if fmt == "csv":
        with open(outs.path(dest), "w", encoding="utf-8", newline="") as f:
            _csv_frame(preds, redacted, replacements).to_csv(f, index=False)
    elif fmt == "jsonl":
        with open(outs.path(dest), "w", encoding="utf-8", newline="\n") as f:
            for k, p in enumerate(preds):
                f.write(jsonl_record(p, None if redacted is None else redacted[k], replacements and replacements[k]) + "\n")
    else:
        for k, p in enumerate(preds):
            name = p.doc.doc_id
            if fmt == "redacted": outs.write_text(dest / f"{name}.txt", redacted[k])
            elif fmt == "brat":
                outs.write_text(dest / f"{name}.txt", p.doc.text)
                outs.write_text(dest / f"{name}.ann", brat_ann(p))
            else: outs.write_text(dest / f"{name}.xml", i2b2_xml(p))


def write_outputs(cfg: OutputConfig, preds, redacted: Optional[Sequence[str]] = None,
                  replacements: Optional[Sequence[Sequence[str]]] = None, documents: bool = False,
                  extra: Optional[Dict[Path, str]] = None, warn: Callable[[str], None] = print) -> Dict[str, Path]:
    """Write every output of `cfg` for the DocumentPredictions `preds` (and their redacted texts, with
    what replaced each span: `replacements[k][i]` for span i of document k; `documents`: notes, whose
    redacted copies are always written as files), and the `extra` files (path -> text: metrics, a
    review page) with them.

    All of them are written under temporary names first and put in place together only when all
    succeeded (`output_set.OutputSet`): a run leaves every output or none. In an output folder,
    `overwrite` replaces only the files this tool wrote there (its manifest lists them); a subfolder
    that is a symbolic link stays one. Returns the paths written, by format.
    """
    extra = {Path(k): v for k, v in (extra or {}).items()}
    paths = check_outputs(cfg, redacted is not None, documents, doc_ids=[p.doc.doc_id for p in preds],
                          extra=list(extra))
    with OutputSet(_root(cfg), cfg.overwrite, warn=warn) as outs:
        for fmt, dest in paths.items(): _write(fmt, dest, preds, redacted, outs, replacements)
        for path, text in extra.items(): outs.write_text(path, text)
        outs.commit()
    return paths
