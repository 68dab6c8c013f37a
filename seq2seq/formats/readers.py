"""Annotated corpora in standard formats -> documents `(doc_id, text, spans)`.

- `i2b2`: i2b2-2014 de-identification XML, `<TEXT><![CDATA[..]]></TEXT>` plus `<TAGS>` children
  such as `<NAME start=".." end=".." text=".." TYPE="DOCTOR"/>`; the element name is the category
  and TYPE the subtype, giving the tag `NAME:DOCTOR` (just `DATE` when TYPE repeats the category).
- `brat`: standoff `.txt` + `.ann` pairs; `T` lines only, discontinuous spans reported and skipped.
- `conll`: a token a line, IOB1 or IOB2 tag in the last column, blank lines between sentences,
  `-DOCSTART-` between documents. CoNLL keeps no original spacing: tokens are joined with single
  spaces (or by simple English rules with `detokenize=True`), one sentence a line.
- `json`: a list of records `{"full_text", "spans": [{"entity_type", "start_position",
  "end_position", "entity_value"?}]}` (Presidio's synthetic data set).

A bad document is named in the `Report` (what a conversion did) and skipped.
"""
import json
import os
import re
import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional, Union

from ..errors import ConvertError
from ..text.tags import Span

__all__ = ['FORMATS', 'READERS', 'Report', 'read_i2b2', 'read_brat', 'read_conll', 'read_json', 'read_docs']


Doc = tuple[str, str, list[Span]]


PathLike = Union[str, os.PathLike]


@dataclass
class Report:
    "What a conversion did; `summary()` gives it as a few lines of text."
    docs_converted: int = 0
    docs_failed: list = field(default_factory=list)       # (doc_id, reason): the whole document skipped
    rows_skipped: list = field(default_factory=list)      # (doc_id, reason): one sentence/line skipped
    rows: int = 0
    spans: Counter = field(default_factory=Counter)       # spans written, per output type
    overlaps: list = field(default_factory=list)          # (doc_id, kept Span, dropped Span)
    discontinuous: list = field(default_factory=list)     # (doc_id, annotation id), skipped
    unmapped: Counter = field(default_factory=Counter)    # source type not in the mapping, kept as is
    dropped_by_map: Counter = field(default_factory=Counter)  # source type mapped to null
    notes: list = field(default_factory=list)             # e.g. the IOB scheme found, .txt files without .ann

    @property
    def docs_read(self) -> int:
        "Documents met, converted or failed."
        return self.docs_converted + len(self.docs_failed)

    def summary(self, max_items: int = 10) -> str:
        "A short human-readable account; lists at most `max_items` failures of each kind."
        types = ', '.join(f'{t} {n}' for t, n in self.spans.most_common())
        lines = [f'documents: {self.docs_read} read, {self.docs_converted} converted, {len(self.docs_failed)} failed',
                 f'rows: {self.rows} written, {len(self.rows_skipped)} skipped',
                 f'spans: {sum(self.spans.values())} written' + (f' ({types})' if types else ''),
                 f'dropped: {len(self.overlaps)} overlapping, {len(self.discontinuous)} discontinuous, '
                 f'{sum(self.dropped_by_map.values())} mapped to null']
        if self.unmapped: lines.append('unmapped types, kept as they are: ' + _counts(self.unmapped))
        lines += self.notes
        lines += _listing('failed document', self.docs_failed, max_items)
        lines += _listing('skipped row', self.rows_skipped, max_items)
        drops = [(d, f'kept {_fmt(k)}, dropped {_fmt(x)}') for d, k, x in self.overlaps]
        lines += _listing('overlap', drops, max_items)
        return '\n'.join(lines)


def _fmt(sp: Span) -> str:
    "`DATE[3:9]` for a Span."
    return f'{sp.type}[{sp.start}:{sp.end}]'


def _counts(c: Counter) -> str:
    "`A 3, B 1` from a Counter."
    return ', '.join(f'{k} {n}' for k, n in c.most_common())


def _listing(what: str, items: list, n: int) -> list:
    "Lines `what doc: reason` for the first `n` items, then how many were left out."
    res = [f'{what} {d}: {r}' for d, r in items[:n]]
    if len(items) > n: res.append(f'... and {len(items) - n} more of {what}')
    return res


def _fail(report: Optional[Report], doc_id: str, reason: str, whole_doc: bool = True) -> None:
    "Record a bad document (or row) in `report`, or raise when there is no report to hold it."
    if report is None: raise ConvertError(f'{doc_id}: {reason}')
    (report.docs_failed if whole_doc else report.rows_skipped).append((doc_id, reason))


def _files(path: PathLike, exts: tuple) -> list[Path]:
    "`path` itself, or the files of folder `path` whose names end in one of `exts`, sorted."
    p = Path(path)
    if p.is_file(): return [p]
    if not p.is_dir(): raise ConvertError(f'input not found: {p}')
    res = sorted(f for f in p.iterdir()
                 if f.is_file() and f.name.lower().endswith(exts) and not f.name.startswith('.'))
    if not res: raise ConvertError(f'no {"/".join(exts)} files in {p}')
    return res


def _read_text(path: Path) -> str:
    """Decode `path` as UTF-8; bytes that are not UTF-8 become lone surrogates (see `_check_utf8`).

    Decoding never fails as a whole, so a record of a multi-record file can fail on its own.
    """
    try: raw = path.read_bytes()
    except OSError as err: raise ConvertError(f'cannot read {path}: {err.strerror}') from err
    return raw.decode('utf-8', errors='surrogateescape')


_BAD_BYTE_RE = re.compile('[\udc80-\udcff]')


def _check_utf8(text: str, what: str = 'text') -> None:
    "Raise ConvertError if `text` holds a byte that was not valid UTF-8 (a surrogate escape)."
    m = _BAD_BYTE_RE.search(text)
    if m: raise ConvertError(f'{what} is not valid UTF-8: byte 0x{ord(m[0]) - 0xdc00:02x} at char {m.start()}')


def _check_span(text: str, s: int, e: int, quoted: Optional[str], what: str) -> None:
    "Raise ConvertError unless `s:e` is a non-empty slice of `text` equal to `quoted` (when given)."
    if not 0 <= s < e <= len(text):
        raise ConvertError(f'{what}: offsets {s}-{e} outside the text (length {len(text)}) or empty')
    if quoted is not None and text[s:e] != quoted:
        raise ConvertError(f'{what}: text {quoted!r} does not match {text[s:e]!r} at {s}-{e}')


def _int(v, what: str) -> int:
    "`v` as an int, or ConvertError naming `what`."
    try: return int(v)
    except (TypeError, ValueError): raise ConvertError(f'{what}: offset {v!r} is not an integer') from None


def _i2b2_type(tag: ET.Element) -> str:
    """`NAME:DOCTOR` from `<NAME TYPE="DOCTOR">`; just the category when TYPE is empty or repeats it."""
    sub = tag.get('TYPE') or ''
    return tag.tag if sub in ('', tag.tag) else f'{tag.tag}:{sub}'


def _i2b2_doc(path: Path) -> tuple[str, list[Span]]:
    "Text and spans of one i2b2 XML file; ConvertError on anything malformed."
    try: root = ET.parse(path).getroot()
    except ET.ParseError as err: raise ConvertError(f'not well-formed XML ({err})') from err
    except OSError as err: raise ConvertError(f'cannot read {path}: {err.strerror}') from err
    node = root.find('TEXT')
    if node is None: raise ConvertError('no <TEXT> element')
    text, spans = node.text or '', []
    tags = root.find('TAGS')
    for tag in (tags if tags is not None else []):
        what = f'<{tag.tag} id="{tag.get("id", "?")}">'
        s, e = _int(tag.get('start'), what), _int(tag.get('end'), what)
        _check_span(text, s, e, tag.get('text'), what)
        spans.append(Span(s, e, _i2b2_type(tag)))
    return text, spans


def read_i2b2(path: PathLike, report: Optional[Report] = None) -> Iterator[Doc]:
    """Yield `(doc_id, text, spans)` for an i2b2-2014 XML file or each `*.xml` of a folder.

    `doc_id` is the file name without `.xml`. A bad file (not XML, no `<TEXT>`, offsets outside
    the text, a `text=` attribute that differs from the slice) is recorded in `report` and
    skipped, or raises ConvertError when `report` is None.
    """
    for f in _files(path, ('.xml',)):
        try: text, spans = _i2b2_doc(f)
        except ConvertError as err: _fail(report, f.stem, str(err)); continue
        yield f.stem, text, spans


def _brat_line(line: str, text: str, no: int) -> Optional[Span]:
    "The Span of one `T` line; None for a discontinuous span; ConvertError if malformed."
    parts = line.split('\t')
    what = f'.ann line {no} ({parts[0]})'
    if len(parts) < 2 or not parts[1].strip(): raise ConvertError(f'{what}: expected "ID<TAB>TYPE START END<TAB>TEXT"')
    head = parts[1].split(' ', 1)
    if len(head) < 2: raise ConvertError(f'{what}: no offsets after type {head[0]!r}')
    if ';' in head[1]: return None
    offs = head[1].split()
    if len(offs) != 2: raise ConvertError(f'{what}: expected "START END", got {head[1]!r}')
    s, e = _int(offs[0], what), _int(offs[1], what)
    quoted = parts[2] if len(parts) > 2 else None
    # the line-based .ann cannot hold a newline: a span across lines is quoted with spaces for them
    if quoted is not None and text[s:e].replace('\r\n', ' ').replace('\n', ' ') == quoted: quoted = None
    _check_span(text, s, e, quoted, what)
    return Span(s, e, head[0])


def _brat_doc(ann: Path, doc_id: str, report: Optional[Report]) -> tuple[str, list[Span]]:
    "Text and spans of one `.ann` and its `.txt`; discontinuous spans go to `report`."
    txt = ann.with_suffix('.txt')
    if not txt.is_file(): raise ConvertError(f'no text file {txt.name} beside {ann.name}')
    text, ann_text = _read_text(txt), _read_text(ann)
    _check_utf8(text, txt.name)
    _check_utf8(ann_text, ann.name)
    spans = []
    # split on \n only: str.splitlines would also cut at characters such as U+2028 in a text column
    for no, line in enumerate(ann_text.split('\n'), 1):
        line = line.rstrip('\r')
        if not line.startswith('T'): continue
        sp, ann_id = _brat_line(line, text, no), line.split('\t')[0]
        if sp is not None: spans.append(sp)
        elif report is not None: report.discontinuous.append((doc_id, ann_id))
        else: warnings.warn(f'{doc_id}: discontinuous span {ann_id} skipped')
    return text, spans


def read_brat(path: PathLike, report: Optional[Report] = None) -> Iterator[Doc]:
    """Yield `(doc_id, text, spans)` for a BRAT `.ann` (or `.txt`) file or each `.ann` of a folder.

    Only text-bound `T` lines are read (`T1<TAB>TYPE START END<TAB>TEXT`); other annotation
    lines (relations, attributes, notes) are ignored. Discontinuous spans (`START END;START END`)
    are skipped and listed in `report.discontinuous`. A pair with a missing `.txt`, a malformed
    line, offsets outside the text or a text column that differs from the slice is recorded in
    `report` and skipped (ConvertError when `report` is None). `doc_id` is the file stem.
    """
    p = Path(path)
    anns = [p.with_suffix('.ann')] if p.is_file() else _files(p, ('.ann',))
    if p.is_dir() and report is not None:
        orphans = sum(not f.with_suffix('.ann').exists() for f in p.glob('*.txt'))
        if orphans: report.notes.append(f'{orphans} .txt files without an .ann in {p} were ignored')
    for ann in anns:
        try: text, spans = _brat_doc(ann, ann.stem, report)
        except ConvertError as err: _fail(report, ann.stem, str(err)); continue
        yield ann.stem, text, spans


_CONLL_NO_SPACE_BEFORE = {',', '.', '...', ';', ':', '!', '?', ')', ']', '}', '%', "n't", "'s", "'re", "'ve", "'ll", "'d", "'m"}


_CONLL_NO_SPACE_AFTER = {'(', '[', '{', '$', '#'}


def _spaced(tokens: list[str], detokenize: bool) -> list[bool]:
    "Whether a space goes before each token: always but the first, or by simple English rules."
    if not detokenize: return [i > 0 for i in range(len(tokens))]
    res, prev, quotes = [], None, 0
    for tok in tokens:
        # straight double quotes alternate: an opening one sticks to the next token, a closing one to the previous
        closing = tok == '"' and quotes % 2 == 1
        glued = (tok.lower() in _CONLL_NO_SPACE_BEFORE or closing or prev in _CONLL_NO_SPACE_AFTER
                 or (prev == '"' and quotes % 2 == 1))
        res.append(prev is not None and not glued)
        quotes += tok == '"'
        prev = tok
    return res


def _join_tokens(tokens: list[str], detokenize: bool) -> tuple[str, list[int]]:
    "Tokens joined into a text and the start offset of each token."
    parts, starts, pos = [], [], 0
    for tok, sp in zip(tokens, _spaced(tokens, detokenize)):
        if sp: parts.append(' '); pos += 1
        starts.append(pos)
        parts.append(tok); pos += len(tok)
    return ''.join(parts), starts


def _iob_chunks(tags: list[str], stats: Counter) -> list[tuple[int, int, str]]:
    """`(first, last+1, type)` token chunks of IOB1 or IOB2 `tags`; counts chunk starts in `stats`.

    One rule reads both schemes: a chunk starts at `B-X`, or at `I-X` after anything but X.
    `stats['I']` counts chunks opened by `I-` (IOB1 only), `stats['B']` chunks opened by `B-`
    after another type or O (IOB2 only).
    """
    res, prev = [], 'O'
    for i, t in enumerate(tags):
        typ = t[2:]
        if t == 'O': prev = t; continue
        if t[:2] == 'B-' or prev[2:] != typ:
            stats['I' if t[:2] == 'I-' else 'B' if prev[2:] != typ else 'B-after-same'] += 1
            res.append([i, i + 1, typ])
        else: res[-1][1] = i + 1
        prev = t
    return [tuple(c) for c in res]


_IOB_RE = re.compile(r'O|[BI]-\S+')


def _conll_sentence(rows: list, detokenize: bool, stats: Counter) -> tuple[str, list[Span]]:
    "One sentence from `(line_no, columns)` rows: its text and spans; ConvertError if malformed."
    for no, cols in rows:
        if len(cols) < 2: raise ConvertError(f'line {no}: expected "TOKEN ... TAG", got {" ".join(cols)!r}')
        if not _IOB_RE.fullmatch(cols[-1]): raise ConvertError(f'line {no}: tag {cols[-1]!r} is not O, B-TYPE or I-TYPE')
        _check_utf8(cols[0], f'line {no}')
    text, starts = _join_tokens([c[0] for _, c in rows], detokenize)
    ends = [s + len(c[0]) for s, (_, c) in zip(starts, rows)]
    spans = [Span(starts[a], ends[b - 1], t) for a, b, t in _iob_chunks([c[-1] for _, c in rows], stats)]
    return text, spans


def _conll_docs(lines: list[str]) -> Iterator[list[list]]:
    "Documents (split at -DOCSTART-) as lists of sentences of `(line_no, columns)` rows."
    doc, sent = [], []
    for no, line in enumerate(lines, 1):
        cols = line.split()
        if cols and cols[0] == '-DOCSTART-':
            if sent: doc.append(sent); sent = []
            if doc: yield doc
            doc = []
        elif cols: sent.append((no, cols))
        elif sent: doc.append(sent); sent = []
    if sent: doc.append(sent)
    if doc: yield doc


def _iob_note(name: str, stats: Counter) -> str:
    "Which IOB scheme the chunk starts of file `name` show."
    if stats['I'] and stats['B']: return f'{name}: mixed IOB1/IOB2 tags ({stats["I"]} chunks open with I-, {stats["B"]} with B-)'
    if stats['I']: return f'{name}: IOB1 tags (I- opens a chunk, B- only splits two chunks of one type)'
    return f'{name}: IOB2 tags (B- opens every chunk)' if stats['B'] else f'{name}: no chunks'


def read_conll(path: PathLike, report: Optional[Report] = None, detokenize: bool = False) -> Iterator[Doc]:
    """Yield `(doc_id, text, spans)` per document of a CoNLL file, or of each file of a folder.

    Columns are split on whitespace: the token is the first, the IOB tag the last. Documents
    are separated by `-DOCSTART-` lines (a file without them is one document) and get the id
    `FILE#N` (N from 0). The text holds one sentence a line, tokens joined by single spaces, as
    CoNLL does not keep the original spacing; `detokenize=True` glues punctuation and English
    clitics (`,` `.` `)` `n't` `'s` ...) instead. IOB1 and IOB2 are read alike and the scheme
    found is noted in `report.notes`. A malformed sentence (one column, a bad tag, bytes that
    are not UTF-8) is skipped and listed in `report.rows_skipped` (ConvertError without report).
    """
    for f in _files(path, ('.conll', '.txt', '.tsv', '.iob', '.bio')):
        try: lines = _read_text(f).split('\n')
        except ConvertError as err: _fail(report, f.name, str(err)); continue
        stats = Counter()
        for k, doc in enumerate(_conll_docs(lines)):
            doc_id, texts, spans, pos = f'{f.name}#{k}', [], [], 0
            for sent in doc:
                try: t, sps = _conll_sentence(sent, detokenize, stats)
                except ConvertError as err: _fail(report, doc_id, str(err), whole_doc=False); continue
                spans += [Span(s + pos, e + pos, ty) for s, e, ty in sps]
                texts.append(t); pos += len(t) + 1
            yield doc_id, '\n'.join(texts), spans
        if report is not None: report.notes.append(_iob_note(f.name, stats))


def _json_doc(rec) -> tuple[str, list[Span]]:
    "Text and spans of one record; ConvertError if malformed."
    if not isinstance(rec, dict) or not isinstance(rec.get('full_text'), str):
        raise ConvertError('record has no "full_text" string')
    text, spans = rec['full_text'], []
    _check_utf8(text, 'full_text')
    for i, sp in enumerate(rec.get('spans') or []):
        what = f'span {i}'
        if not isinstance(sp, dict) or not isinstance(sp.get('entity_type'), str):
            raise ConvertError(f'{what}: no "entity_type"')
        s, e = _int(sp.get('start_position'), what), _int(sp.get('end_position'), what)
        _check_span(text, s, e, sp.get('entity_value'), what)
        spans.append(Span(s, e, sp['entity_type']))
    return text, spans


def read_json(path: PathLike, report: Optional[Report] = None) -> Iterator[Doc]:
    """Yield `(doc_id, text, spans)` per record of a Presidio-style JSON file (or each `*.json`).

    A file holds a list of records `{"full_text": str, "spans": [{"entity_type", "start_position",
    "end_position", "entity_value"?}]}`; other keys are ignored. `doc_id` is `FILE#INDEX`. A bad
    record (no text, offsets outside it, `entity_value` differing from the slice, bytes that
    are not UTF-8) is recorded in `report` and skipped; a file that is not such a list fails whole.
    """
    for f in _files(path, ('.json',)):
        try:
            recs = json.loads(_read_text(f))
            if not isinstance(recs, list): raise ConvertError('expected a JSON list of records')
        except json.JSONDecodeError as err: _fail(report, f.name, f'not valid JSON ({err})'); continue
        except ConvertError as err: _fail(report, f.name, str(err)); continue
        for i, rec in enumerate(recs):
            try: text, spans = _json_doc(rec)
            except ConvertError as err: _fail(report, f'{f.name}#{i}', str(err)); continue
            yield f'{f.name}#{i}', text, spans


READERS = {'i2b2': read_i2b2, 'brat': read_brat, 'conll': read_conll, 'json': read_json}


FORMATS = tuple(READERS)


def read_docs(path: PathLike, fmt: str, report: Optional[Report] = None, **kwargs) -> Iterator[Doc]:
    "Yield `(doc_id, text, spans)` from `path` read as format `fmt` (one of `FORMATS`)."
    if fmt not in READERS: raise ConvertError(f'unknown format {fmt!r} (choose from {", ".join(FORMATS)})')
    if not Path(path).exists(): raise ConvertError(f'input not found: {path}')
    return READERS[fmt](path, report, **kwargs)
