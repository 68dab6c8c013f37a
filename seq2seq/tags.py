"""The inline annotation format: `{{TYPE}}span{{/TYPE}}` and `{{TYPE:SUB}}span{{/TYPE:SUB}}`.

TYPE and SUB are ASCII letters, digits, `_` and `-`; TYPE starts with a letter. Spans are
non-empty, never nest, and each open marker is closed by the close of the same type before
the next open. A `{{` or `}}` that is not part of a valid marker is a stray brace; single
braces `{` `}` are ordinary text. Offsets in a `Span` refer to the plain text (markers
removed); offsets in a `TagError` message refer to the annotated text that was checked.
"""
import re
from typing import Iterable, NamedTuple
from .errors import TagError

__all__ = ['MARKER_RE', 'Span', 'TagError', 'is_marker', 'is_open', 'is_close', 'marker_type',
           'open_marker', 'close_marker', 'parse', 'strip_tags', 'spans', 'validate', 'annotate',
           'check_column', 'tag_types']

_TYPE = r'[A-Za-z][A-Za-z0-9_-]*(?::[A-Za-z0-9_-]+)?'
_TYPE_RE = re.compile(_TYPE)
MARKER_RE = re.compile(r'\{\{(?P<close>/?)(?P<type>' + _TYPE + r')\}\}')
# One scanner for `parse`: a marker, or else a stray `{{`/`}}`. A `{{` directly followed by a
# marker (as in `{{{DATE}}`) is a lone `{` of text plus that marker, not a stray, so it is
# skipped here and the marker is found one character later, exactly as `MARKER_RE` finds it.
_SCAN_RE = re.compile(MARKER_RE.pattern + r'|(?P<stray>\{\{(?!\{/?' + _TYPE + r'\}\})|\}\})')


class Span(NamedTuple):
    "A tagged span of the plain text: `text[start:end]` has tag `type`."
    start: int
    end: int
    type: str


def is_marker(tok: str) -> bool:
    "True if the whole of `tok` is exactly one open or close marker."
    return MARKER_RE.fullmatch(tok) is not None


def is_open(tok: str) -> bool:
    "True if `tok` is exactly one open marker such as `{{DATE}}`."
    m = MARKER_RE.fullmatch(tok)
    return m is not None and not m['close']


def is_close(tok: str) -> bool:
    "True if `tok` is exactly one close marker such as `{{/DATE}}`."
    m = MARKER_RE.fullmatch(tok)
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
    return ''.join(parts), res


def strip_tags(text: str) -> str:
    "Remove every valid marker from `text`, without validating (safe on raw model output)."
    return MARKER_RE.sub('', text)


def spans(text: str) -> list[Span]:
    "The `Span`s of annotated `text` (validated, see `parse`)."
    return parse(text)[1]


def validate(text: str) -> None:
    "Raise `TagError` if `text` is not well-formed annotated text (see `parse`)."
    parse(text)


def annotate(plain: str, spans: Iterable[Span]) -> str:
    """Write `spans` into `plain` as inline markers; the inverse of `parse`.

    Spans are sorted first; adjacent spans are fine. Raises `TagError` on an empty,
    out-of-range or overlapping span, or an invalid type. `plain` itself is not checked:
    if it contains `{{`, `}}` or marker-like text, `parse` of the result will not give it back.
    """
    parts, pos = [], 0
    for sp in sorted(Span(*o) for o in spans):
        s, e, t = sp
        if not 0 <= s <= e <= len(plain): raise TagError(f'span {sp} out of range for text of length {len(plain)}', s)
        if s == e: raise TagError(f'empty span {sp}', s)
        if s < pos: raise TagError(f'span {sp} overlaps the previous span ending at char {pos}', s)
        parts += [plain[pos:s], open_marker(t), plain[s:e], close_marker(t)]
        pos = e
    parts.append(plain[pos:])
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
