"""The inline annotation format: `{{TYPE}}span{{/TYPE}}` and `{{TYPE:SUB}}span{{/TYPE:SUB}}`.

TYPE and SUB are ASCII letters, digits, `_` and `-`; TYPE starts with a letter. Spans are
non-empty, never nest, and each open marker is closed by the close of the same type before
the next open. A `{{` or `}}` that is not part of a valid marker is a stray brace; single
braces `{` `}` are ordinary text. Offsets in a `Span` refer to the plain text (markers
removed); offsets in a `TagError` message refer to the annotated text that was checked.

Escape: plain text may hold anything, `{{DATE}}` and `}}` included. In annotated text a run of
equal braces is written with a backslash between each two (`{{` -> `{\{`, `}}}` -> `}\}\}`), and
backslashes that already stand between two equal braces get one more (`{\{` -> `{\\{`). So
annotated text never holds marker-like text of the plain text, and `strip_tags`/`parse` undo the
escape: `strip_tags(annotate(plain, spans)) == plain` for every string. Text without `{{`, `}}`
or a backslash between equal braces is unchanged (see `escape_text`, `unescape_text`).
"""
import bisect
import re
from typing import Iterable, NamedTuple

from ..errors import TagError

__all__ = ['MARKER_RE', 'Span', 'ScoredSpan', 'TagError', 'is_marker', 'is_open', 'is_close', 'marker_type',
           'open_marker', 'close_marker', 'parse', 'strip_tags', 'spans', 'validate', 'annotate',
           'check_column', 'tag_types', 'escape_text', 'unescape_text', 'has_markers']

_TYPE = r'[A-Za-z][A-Za-z0-9_-]*(?::[A-Za-z0-9_-]+)?'
_TYPE_RE = re.compile(_TYPE)
MARKER_RE = re.compile(r'\{\{(?P<close>/?)(?P<type>' + _TYPE + r')\}\}')
# One scanner for `parse`: a marker, or else a stray `{{`/`}}`. A `{{` directly followed by a
# marker (as in `{{{DATE}}`) is a lone `{` of text plus that marker, not a stray, so it is
# skipped here and the marker is found one character later, exactly as `MARKER_RE` finds it.
_SCAN_RE = re.compile(MARKER_RE.pattern + r'|(?P<stray>\{\{(?!\{/?' + _TYPE + r'\}\})|\}\})')


# The escape: a zero-width gap between two equal braces, holding only backslashes, gets one more
# backslash (escape) or loses one (unescape). Gaps are the same before and after, so they invert.
_ESC_RE = [re.compile(r'(?<=\{)(?=\\*\{)'), re.compile(r'(?<=\})(?=\\*\})')]
_UNESC_RE = re.compile(r'(?<=\{)\\(?=\\*\{)|(?<=\})\\(?=\\*\})')


def escape_text(text: str) -> str:
    "Plain text as it is written in annotated text: no run of equal braces left (see module docstring)."
    for r in _ESC_RE: text = r.sub('\\\\', text)
    return text


def unescape_text(text: str) -> str:
    "Inverse of `escape_text`: the plain text of annotated text whose markers are removed."
    return _UNESC_RE.sub('', text)


def _unescape_map(text: str):
    "`unescape_text(text)` and a function from offsets in `text` to offsets in the result."
    cut = [m.start() for m in _UNESC_RE.finditer(text)]
    return _UNESC_RE.sub('', text), lambda k: k - bisect.bisect_left(cut, k)


def _escape_map(text: str):
    "`escape_text(text)` and a function from offsets in `text` to offsets in the result."
    ins = sorted(m.start() for r in _ESC_RE for m in r.finditer(text))
    return escape_text(text), lambda k: k + bisect.bisect_left(ins, k)


class Span(NamedTuple):
    "A tagged span of the plain text: `text[start:end]` has tag `type`."
    start: int
    end: int
    type: str


class ScoredSpan(NamedTuple):
    """A predicted span of the source string, `src[start:end]`, with the model's probability `score`;
    `origin` says what marked it ("model", or "repeat": another occurrence of a predicted string)."""
    start: int
    end: int
    type: str
    score: float
    origin: str = "model"


def _marker_match(tok: str):
    """MARKER_RE's full match of `tok`, or None. The tests below run on every token of every text
    (tokenizer, restore): a marker starts with "{{", and testing that first spares almost all
    tokens the regex."""
    return MARKER_RE.fullmatch(tok) if tok[:2] == '{{' else None


def is_marker(tok: str) -> bool:
    "True if the whole of `tok` is exactly one open or close marker."
    return _marker_match(tok) is not None


def is_open(tok: str) -> bool:
    "True if `tok` is exactly one open marker such as `{{DATE}}`."
    m = _marker_match(tok)
    return m is not None and not m['close']


def is_close(tok: str) -> bool:
    "True if `tok` is exactly one close marker such as `{{/DATE}}`."
    m = _marker_match(tok)
    return m is not None and bool(m['close'])


def marker_type(tok: str) -> str:
    "Type of the marker `tok`: `'{{/NAME:DOCTOR}}'` -> `'NAME:DOCTOR'`; TagError if not a marker."
    m = MARKER_RE.fullmatch(tok)
    if m is None: raise TagError(f'not a tag marker: {tok!r}')
    return m['type']


def _check_type(type: str) -> str:
    "Return `type` if it is a valid tag type, else raise TagError."
    if not isinstance(type, str) or _TYPE_RE.fullmatch(type) is None:
        raise TagError(f'invalid tag type {type!r} (letters, digits, _ and -, as TYPE or TYPE:SUB)')
    return type


def open_marker(type: str) -> str:
    "Open marker for `type`: `'DATE'` -> `'{{DATE}}'`."
    return '{{' + _check_type(type) + '}}'


def close_marker(type: str) -> str:
    "Close marker for `type`: `'DATE'` -> `'{{/DATE}}'`."
    return '{{/' + _check_type(type) + '}}'


def parse(text: str) -> tuple[str, list[Span]]:
    """Split annotated `text` into `(plain, spans)`, validating it strictly.

    One left-to-right pass of a single regex. `spans` are `Span`s in order with offsets in
    `plain`. Raises `TagError` (with the char offset in `text`) on an unclosed span, a close
    with no open, a mismatched close, nesting, an empty span or a stray `{{`/`}}`.
    """
    parts, res = [], []
    pos = pl = 0       # pos: offset in `text`; pl: length of the plain text so far
    op = None          # the open marker's match and its plain offset, while a span is open
    for m in _SCAN_RE.finditer(text):
        s = m.start()
        if s > pos:
            parts.append(text[pos:s])
            pl += s - pos
        pos = m.end()
        if m['stray']: raise TagError(f'stray {m["stray"]!r} at char {s} (not part of a valid tag marker)', s)
        if not m['close']:
            if op is not None:
                raise TagError(f'{m[0]} at char {s} opened inside {op[0][0]} opened at char {op[0].start()} '
                               '(spans do not nest)', s)
            op = (m, pl)
            continue
        if op is None: raise TagError(f'{m[0]} at char {s} closes nothing (no span is open)', s)
        om, st = op
        if m['type'] != om['type']:
            raise TagError(f'{m[0]} at char {s} does not match {om[0]} opened at char {om.start()}', s)
        if pl == st: raise TagError(f'empty span {om[0]}{m[0]} at char {om.start()}', om.start())
        res.append(Span(st, pl, om['type']))
        op = None
    if op is not None: raise TagError(f'unclosed {op[0][0]} opened at char {op[0].start()}', op[0].start())
    parts.append(text[pos:])
    plain, at = _unescape_map(''.join(parts))
    return plain, [Span(at(s), at(e), t) for s, e, t in res]


def has_markers(text: str) -> bool:
    "Whether `text` holds a marker, valid or not in its place (`{{TYPE}}` or `{{/TYPE}}`)."
    return MARKER_RE.search(text) is not None


def strip_tags(text: str) -> str:
    "Remove every valid marker from `text` and undo the escape, without validating (safe on raw model output)."
    return unescape_text(MARKER_RE.sub('', text))


def spans(text: str) -> list[Span]:
    "The `Span`s of annotated `text` (validated, see `parse`)."
    return parse(text)[1]


def validate(text: str) -> None:
    "Raise `TagError` if `text` is not well-formed annotated text (see `parse`)."
    parse(text)


def annotate(plain: str, spans: Iterable[Span]) -> str:
    """Write `spans` into `plain` as inline markers; the inverse of `parse`.

    Spans are sorted first; adjacent spans are fine. Raises `TagError` on an empty,
    out-of-range or overlapping span, or an invalid type. `plain` may hold anything: `{{`, `}}`
    and marker-like text are escaped (see the module docstring), so `parse` gives it back.
    """
    parts, pos = [], 0
    esc, at = _escape_map(plain)
    for sp in sorted(Span(*o) for o in spans):
        s, e, t = sp
        if not 0 <= s <= e <= len(plain): raise TagError(f'span {sp} out of range for text of length {len(plain)}', s)
        if s == e: raise TagError(f'empty span {sp}', s)
        if s < pos: raise TagError(f'span {sp} overlaps the previous span ending at char {pos}', s)
        parts += [esc[at(pos):at(s)], open_marker(t), esc[at(s):at(e)], close_marker(t)]
        pos = e
    parts.append(esc[at(pos):])
    return ''.join(parts)


def check_column(texts: Iterable, column: str, source: str = "") -> None:
    """Validate every annotated cell of a column; skip NaN, None and other non-str cells.

    On the first bad cell raise `TagError` naming `source` (e.g. the file), `column` and the
    1-based data row number (header not counted) plus the reason, e.g.
    "data.csv: column 'annotated_text', row 17: unclosed {{DATE}} opened at char 12".
    """
    where = f'{source}: ' if source else ''
    for i, t in enumerate(texts, 1):
        if not isinstance(t, str): continue
        try: parse(t)
        except TagError as err:
            raise TagError(f"{where}column '{column}', row {i}: {err}", err.pos) from err


def tag_types(text: str) -> list[str]:
    "Types of the spans of annotated `text`, in order (validated, see `parse`)."
    return [sp.type for sp in parse(text)[1]]

