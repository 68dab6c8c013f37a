"""Documents -> sentence-pair CSVs `orig_text,annotated_text,doc_id`, one sentence (or line) a row.

`convert` reads a corpus with one of `readers.READERS`, then maps types (`load_mapping`), drops
overlapping spans (the span that starts first is kept, the longest at equal starts; every drop is
reported), splits each text into sentences or lines without ever cutting a span
(`split_sentences`), and writes each piece inline with `tags.annotate`. Bad documents are named in
the `Report` and skipped; the rest is converted. Every row round-trips:
`parse(annotated_text) == (orig_text, spans)` is checked as it is built.
"""
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Optional

import pandas as pd

from ..errors import ConvertError
from ..resources import MAPS, builtin_map
from ..text.sentences import ABBREVIATIONS, LANGS, UNITS, split_sentences
from ..text.tags import Span, TagError, annotate, open_marker, parse
from ..utils import atomic_write
from .readers import FORMATS, Doc, PathLike, Report, _fail, read_docs

__all__ = ['FORMATS', 'COLUMNS', 'LANGS', 'UNITS', 'ConvertError', 'load_mapping', 'map_spans', 'convert', 'save_csv']

COLUMNS = ['orig_text', 'annotated_text', 'doc_id']


# ----------------------------------------------------------------------------- type mapping

def _check_target(t, src: str):
    "`t` if it is null or a valid tag type, else ConvertError naming the mapping entry `src`."
    if t is None: return t
    try: open_marker(t)
    except TagError as err: raise ConvertError(f'mapping for {src!r}: {err}') from None
    return t


def _compile_rule(src: str, v):
    "One mapping value: a target type, None (drop), or a list of `(regex, target)` tried in order."
    if not isinstance(v, list): return _check_target(v, src)
    res = []
    for r in v:
        if not (isinstance(r, (list, tuple)) and len(r) == 2 and isinstance(r[0], str)):
            raise ConvertError(f'mapping for {src!r}: a rule must be [REGEX, TARGET], got {r!r}')
        try: res.append((re.compile(r[0]), _check_target(r[1], src)))
        except re.error as err: raise ConvertError(f'mapping for {src!r}: bad regex {r[0]!r} ({err})') from None
    return res


def load_mapping(mapping) -> dict:
    """A type mapping checked and ready for `convert`, from a dict, a `.json`/`.yaml` file, or the name
    of a built-in map (`resources.MAPS`: `meddocan`, `presidio`; a file of that name wins).

    Each entry maps a source type to a target tag type (`"NAME:DOCTOR"`), to null (drop those
    spans), or to a list of `[REGEX, TARGET]` rules tried in order against the span text with
    `re.fullmatch` (e.g. `[["\\\\d+", "LOCATION:ZIP"], [".*", "LOCATION:CITY"]]`); a span that no
    rule matches keeps its type. Source types absent from the mapping keep their type and are
    counted in `Report.unmapped`. Keys starting with `_` are comments and ignored (JSON has no
    comments). Raises ConvertError on a bad file or entry.
    """
    if isinstance(mapping, (str, os.PathLike)) and str(mapping) in MAPS and not Path(mapping).exists():
        mapping = builtin_map(str(mapping))
    if isinstance(mapping, (str, os.PathLike)): mapping = _load_mapping_file(Path(mapping))
    if not isinstance(mapping, dict): raise ConvertError('a mapping must be an object {"SOURCE_TYPE": "TARGET" or null}')
    return {str(k): _compile_rule(str(k), v) for k, v in mapping.items() if not str(k).startswith('_')}


def _load_mapping_file(path: Path):
    "The raw contents of a JSON or YAML mapping file."
    try: raw = path.read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as err: raise ConvertError(f'cannot read mapping {path}: {err}') from err
    if path.suffix.lower() in ('.yaml', '.yml'):
        import yaml  # only needed for YAML maps; PyYAML comes with fastai
        try: return yaml.safe_load(raw)
        except yaml.YAMLError as err: raise ConvertError(f'mapping {path} is not valid YAML ({err})') from None
    try: return json.loads(raw)
    except json.JSONDecodeError as err: raise ConvertError(f'mapping {path} is not valid JSON ({err})') from None


def _map_type(rule, src: str, value: str):
    "`(target, matched)` for a span of type `src` and text `value` under a compiled `rule`."
    if not isinstance(rule, list): return rule, True
    for rx, tgt in rule:
        if rx.fullmatch(value): return tgt, True
    return src, False


_KEEP = object()  # a source type absent from the mapping


def _map_spans(text: str, spans: list[Span], mapping: Optional[dict]) -> tuple[list[Span], Counter, Counter]:
    "Spans after `mapping`, with the per-source-type counts of dropped and of unmapped spans."
    if mapping is None: return list(spans), Counter(), Counter()
    res, dropped, unmapped = [], Counter(), Counter()
    for sp in spans:
        rule = mapping.get(sp.type, _KEEP)
        tgt, ok = (sp.type, False) if rule is _KEEP else _map_type(rule, sp.type, text[sp.start:sp.end])
        if not ok: unmapped[sp.type] += 1
        if tgt is None: dropped[sp.type] += 1
        else: res.append(sp._replace(type=tgt))
    return res, dropped, unmapped


def map_spans(text: str, spans: list[Span], mapping: Optional[dict]) -> list[Span]:
    "`spans` of `text` with their types mapped by a `load_mapping` result (types mapped to null dropped)."
    return _map_spans(text, spans, mapping)[0]


# ----------------------------------------------------------------------------- conversion

def _drop_overlaps(doc_id: str, spans: list[Span], report: Report) -> list[Span]:
    "Spans without overlaps: the earliest start wins, the longest at equal starts; drops reported."
    res = []
    for sp in sorted(spans, key=lambda o: (o.start, -o.end, o.type)):
        if res and sp.start < res[-1].end: report.overlaps.append((doc_id, res[-1], sp))
        else: res.append(sp)
    return res


def _check_types(spans: list[Span]) -> None:
    "ConvertError naming the first span type that cannot be written as a tag."
    for sp in spans:
        try: open_marker(sp.type)
        except TagError: raise ConvertError(f'type {sp.type!r} cannot be written as a tag '
                                            '(letters, digits, _ and - as TYPE or TYPE:SUB; rename it with a mapping)') from None


def _row(doc_id: str, sent: str, sps: list[Span]) -> tuple[str, str, str]:
    "One CSV row; raises AssertionError if it would not round-trip (a bug, not bad input)."
    ann = annotate(sent, sps)
    if parse(ann) != (sent, sps): raise AssertionError(f'{doc_id}: row does not round-trip: {ann!r}')
    return sent, ann, doc_id


def _doc_rows(doc: Doc, mapping: Optional[dict], lang: str, unit: str, report: Report) -> list:
    "Rows of one document; ConvertError (before anything is recorded) if it cannot be converted."
    doc_id, text, spans = doc
    spans, dropped, unmapped = _map_spans(text, spans, mapping)
    _check_types(spans)
    report.dropped_by_map.update(dropped)
    report.unmapped.update(unmapped)
    rows = []
    for sent, sps in split_sentences(text, _drop_overlaps(doc_id, spans, report), lang, unit=unit):
        if '{{' in sent or '}}' in sent:
            why = f'text holds "{{{{" or "}}}}", which inline tags cannot carry: {sent[:60]!r}'
            report.rows_skipped.append((doc_id, why))
            continue
        rows.append(_row(doc_id, sent, sps))
        report.spans.update(sp.type for sp in sps)
    return rows


def convert(input_path: PathLike, fmt: str, *, mapping=None, lang: str = 'en', unit: Optional[str] = None,
            detokenize: bool = False) -> tuple[pd.DataFrame, Report]:
    """Convert an annotated corpus to a DataFrame with columns `orig_text, annotated_text, doc_id`.

    `input_path`: a file or a folder (for `brat`, a folder of `.txt`/`.ann` pairs or one `.ann`).
    `fmt`: one of `FORMATS` (`i2b2`, `brat`, `conll`, `json`). `mapping`: a dict or a JSON/YAML
    file for `load_mapping`. `lang`: abbreviation list for sentence ends (`LANGS`). `unit`:
    `sentence`, `line` or `document` per row (default `line` for CoNLL, whose lines are its
    sentences, else `sentence`). `detokenize`: CoNLL only, see `read_conll`.
    Bad documents are skipped and named in the returned `Report`; ConvertError is raised only for
    fatal problems (unknown format, language or unit, missing input, bad mapping).
    """
    unit = unit or ('line' if fmt == 'conll' else 'sentence')
    if unit not in UNITS: raise ConvertError(f'unknown unit {unit!r} (choose from {", ".join(UNITS)})')
    if lang not in ABBREVIATIONS: raise ConvertError(f'unknown lang {lang!r} (choose from {", ".join(LANGS)})')
    mapping = None if mapping is None else load_mapping(mapping)
    report, rows = Report(), []
    kwargs = {'detokenize': detokenize} if fmt == 'conll' else {}
    for doc in read_docs(input_path, fmt, report, **kwargs):
        try: rows += _doc_rows(doc, mapping, lang, unit, report)
        except (ConvertError, TagError) as err: _fail(report, doc[0], str(err)); continue
        report.docs_converted += 1
    report.rows = len(rows)
    return pd.DataFrame(rows, columns=COLUMNS), report


def save_csv(df: pd.DataFrame, path: PathLike) -> Path:
    "Write `df` as UTF-8 CSV to `path` through a temporary file and a rename, so `path` is never half-written."
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    def write(tmp):
        with tmp.open('w', encoding='utf-8', newline='') as f: df.to_csv(f, index=False, lineterminator='\n')
    atomic_write(path, write)
    return path
