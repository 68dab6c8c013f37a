"""Sentence splitting that never cuts a span: `split_sentences(text, spans, lang, unit=...)`.

Used by `convert` (corpora -> sentence pairs) and by anything that must cut a document into the
sentences a model reads. Rule based: sentence ends are `.`, `!`, `?` followed by space and an
upper-case letter or digit, except after the abbreviations of the language (`ABBREVIATIONS`,
English and Spanish) and single-letter initials.
"""
import bisect
import re

from ..errors import UserError
from .tags import Span

__all__ = ["ABBREVIATIONS", "LANGS", "UNITS", "split_sentences"]

UNITS = ('sentence', 'line', 'document')
_ABBREVS = {
    'en': 'mr mrs ms mx dr prof sr jr st mt ft rev hon gov sen rep gen col lt capt sgt cpl maj adm '
          'vs etc e.g i.e cf al approx dept est fig figs inc ltd co corp no nos vol pp ed eds '
          'jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun '
          'a.m p.m u.s u.k b.a m.a ph.d m.d',
    'es': 'sr sra srta sres dr dra dres d dña ud uds prof profa lic ing arq gral av avda c cl ctra '
          'pza pl plza urb esc izq izda dcha drcha dpto depto apdo km n nº núm num no pág págs p pp '
          'fig figs tel tfno telf vol cap ed etc p.ej ej aprox aptdo s.a s.l h hosp sta sto '
          'ene feb mar abr may jun jul ago sep sept oct nov dic',
}
ABBREVIATIONS = {k: frozenset(v.split()) for k, v in _ABBREVS.items()}
LANGS = tuple(ABBREVIATIONS)
# A sentence end: `.`, `!`, `?` (closing quotes/brackets may follow), spaces, then maybe an
# opening bracket or quote, then a character that must be upper case or a digit (checked below).
_END_RE = re.compile(r'(?P<punct>[.!?…]+)[)\]"\'”’»]*(?P<gap>[^\S\n]+)(?=[(\[{"\'“‘«¿¡]?(?P<next>\w))')
_OPENERS = '([{"\'“‘«¿¡'


def _is_abbrev(text: str, end: int, abbrevs: frozenset) -> bool:
    "True if the word ending with the period at `end` is an abbreviation or a single-letter initial."
    m = re.search(r'\S+$', text[max(0, end - 40):end])
    word = (m[0] if m else '').lstrip(_OPENERS).lower()
    return (len(word) == 1 and word.isalpha()) or word in abbrevs


def _boundaries(text: str, lang: str, unit: str) -> list[tuple[int, int]]:
    "Candidate cuts `(a, b)`: a piece ends at `a`, the next starts at `b`, `text[a:b]` is blank."
    if unit == 'document': return []
    res = [(m.start(), m.end()) for m in re.finditer('\n', text)]
    if unit == 'sentence':
        abbrevs = ABBREVIATIONS[lang]
        for m in _END_RE.finditer(text):
            if not (m['next'].isupper() or m['next'].isdigit()): continue
            if m['punct'] == '.' and _is_abbrev(text, m.end('punct') - 1, abbrevs): continue
            res.append(m.span('gap'))
        res.sort()
    return res


def _crosses(a: int, b: int, starts: list[int], spans: list[Span]) -> bool:
    "True if a cut `(a, b)` would fall inside a span (spans sorted, not overlapping)."
    i = bisect.bisect_left(starts, b) - 1
    return i >= 0 and spans[i].end > a


def _trim(text: str, p: int, q: int, sps: list[Span]) -> tuple[int, int]:
    "`(p, q)` with outer whitespace removed, never cutting into the first or last span."
    seg = text[p:q]
    p2, q2 = p + len(seg) - len(seg.lstrip()), p + len(seg.rstrip())
    if sps: p2, q2 = min(p2, sps[0].start), max(q2, sps[-1].end)
    return p2, max(p2, q2)


def split_sentences(text: str, spans, lang: str = 'en', *, unit: str = 'sentence') -> list[tuple[str, list[Span]]]:
    """Cut `text` into pieces `(piece_text, piece_spans)` without ever cutting inside a span.

    `unit='sentence'` cuts at newlines and after `.`, `!` or `?` followed by spaces and an
    upper-case letter or digit (maybe behind an opening bracket or quote), except after the
    abbreviations of `lang` (one of `LANGS`) and single-letter initials. `unit='line'` cuts at
    newlines only and `'document'` nowhere. A cut that would fall inside a span is not made.
    Pieces are stripped of outer whitespace (never into a span) and empty ones dropped;
    span offsets are relative to their piece. `spans` must not overlap.
    """
    if unit not in UNITS: raise UserError(f'unit must be one of {UNITS}, got {unit!r}')
    if lang not in ABBREVIATIONS: raise UserError(f'no abbreviation list for lang {lang!r} (choose from {", ".join(LANGS)})')
    spans = sorted(Span(*sp) for sp in spans)
    for x, y in zip(spans, spans[1:]):
        if y.start < x.end: raise UserError(f'overlapping spans {x} and {y}')
    starts = [sp.start for sp in spans]
    cuts = [(a, b) for a, b in _boundaries(text, lang, unit) if not _crosses(a, b, starts, spans)]
    res, p, i = [], 0, 0
    for a, b in cuts + [(len(text), len(text))]:
        j = bisect.bisect_left(starts, a, lo=i)  # spans of this piece: start before its end `a`
        p2, q2 = _trim(text, p, a, spans[i:j])
        if q2 > p2: res.append((text[p2:q2], [Span(s - p2, e - p2, t) for s, e, t in spans[i:j]]))
        p, i = b, j
    return res
