"""Reversible tokenization: spaCy 3 words, `{{...}}` markers kept whole, whitespace restorable.

Tokens carry no whitespace. Between two tokens a *default* separator applies (a space, or
nothing around punctuation and on the inner side of tag markers); where the text differs
from the default, a control token records it: `xxjn` (nothing where a space was expected),
`xxsp` (one space where nothing was expected), or a literal whitespace token (`'  '`,
`'\\n'`, ...) for anything else. So `detokenize(tokenize(s)) == s` for every string.

Annotated text is tokenized *plain first*: the plain text is split by spaCy exactly as a
source sentence would be, tokens are cut at tag boundaries, and markers are woven in. So the
target sequence with its markers removed is the source sequence, which faithful decoding
relies on (apart from a tag boundary inside a spaCy token, where the target has one more cut).
"""
from typing import List, NamedTuple

from .compat import blank_nlp  # before fastai
from fastai.text.transform import BaseTokenizer, BOS, EOS, PAD

from .tags import MARKER_RE, is_close, is_marker, is_open

__all__ = ["JOIN", "SPACE", "Piece", "pieces", "tokenize", "detokenize", "MarkerTokenizer", "is_control"]

JOIN, SPACE = "xxjn", "xxsp"
_NO_SPACE_BEFORE = set(".,;:!?)]}%/-")
_NO_SPACE_AFTER = set("([{$#/-")


class Piece(NamedTuple):
    "One token and where it stands in the text it came from (`start == end` for zero-width ones)."
    text: str
    start: int
    end: int


def is_control(tok: str) -> bool:
    "True for tokens that encode whitespace rather than text."
    return tok in (JOIN, SPACE) or (tok != "" and tok.isspace())


def default_sep(a: str, b: str) -> str:
    "The separator assumed between tokens `a` and `b` when no control token says otherwise."
    if a.isspace() or b.isspace() or is_open(a) or is_close(b): return ""
    if b[0] in _NO_SPACE_BEFORE or b[0] == "'" or b == "n't": return ""
    if a[-1] in _NO_SPACE_AFTER: return ""
    return " "


def _word_pieces(plain: str, lang: str, cuts: set) -> List[Piece]:
    "spaCy's non-space tokens of `plain`, each also cut at the offsets in `cuts`."
    res = []
    for t in blank_nlp(lang).tokenizer(plain):
        if t.is_space: continue
        s, e = t.idx, t.idx + len(t.text)
        inner = sorted(c for c in cuts if s < c < e)
        for a, b in zip([s] + inner, inner + [e]):
            res.append(Piece(plain[a:b], a, b))
    return res


def _split_markers(text: str):
    "Plain text of `text` and its markers as (offset in the plain text, marker), in order."
    plain, marks, last = [], [], 0
    n = 0
    for m in MARKER_RE.finditer(text):
        plain.append(text[last:m.start()])
        n += m.start() - last
        marks.append((n, m.group(0)))
        last = m.end()
    plain.append(text[last:])
    return "".join(plain), marks


def pieces(text: str, lang: str = "en") -> List[Piece]:
    """Tokens of `text` with their offsets in the *plain* text (markers removed).

    Markers are zero-width pieces at the offset where they stand; control tokens (`xxjn`,
    `xxsp`, literal whitespace) sit where the whitespace they encode starts.
    """
    plain, marks = _split_markers(text)
    words = _word_pieces(plain, lang, {o for o, _ in marks})
    items, wi = [], 0
    for off, mk in marks:  # markers go before the words that start at or after their offset
        while wi < len(words) and words[wi].start < off:
            items.append(words[wi]); wi += 1
        items.append(Piece(mk, off, off))
    items += words[wi:]
    return _add_controls(items, plain)


def _add_controls(items: List[Piece], plain: str) -> List[Piece]:
    "Insert the control tokens that make the whitespace between `items` recoverable."
    res = []
    if items and items[0].start > 0: res.append(Piece(plain[:items[0].start], 0, items[0].start))
    for i, it in enumerate(items):
        res.append(it)
        nxt = items[i + 1] if i + 1 < len(items) else None
        gap_end = nxt.start if nxt else len(plain)
        ws = plain[it.end:gap_end]
        want = default_sep(it.text, nxt.text) if nxt else ""
        if ws == want: continue
        if ws == "": tok = JOIN
        elif ws == " ": tok = SPACE
        else: tok = ws
        res.append(Piece(tok, it.end, gap_end))
    if not items and plain: res.append(Piece(plain, 0, len(plain)))
    return res


def tokenize(text: str, lang: str = "en") -> List[str]:
    "Reversible token list of `text` (see module docstring)."
    return [p.text for p in pieces(text, lang)]


def detokenize(tokens) -> str:
    "Inverse of `tokenize`; BOS/EOS/padding are dropped."
    out, prev, pending = [], None, None
    for t in tokens:
        if t in (BOS, EOS, PAD, "xxfake"): continue
        if t in (JOIN, SPACE):
            pending = "" if t == JOIN else " "
            continue
        if prev is not None: out.append(default_sep(prev, t) if pending is None else pending)
        elif pending: out.append(pending)
        out.append(t)
        prev, pending = t, None
    if pending: out.append(pending)
    return "".join(out)


class MarkerTokenizer(BaseTokenizer):
    """fastai `BaseTokenizer` (use as `Tokenizer(tok_func=MarkerTokenizer, lang=...)`).

    fastai's `TokenizeProcessor` joins `'xxbos '` / `' xxeos'` onto the text; they are taken
    off again here, so they cost no control tokens.
    """

    def __init__(self, lang: str = "en"):
        self.lang = lang
        blank_nlp(lang)  # fail early on an unknown language

    def tokenizer(self, t: str) -> List[str]:
        head, tail = [], []
        if t.startswith(BOS + " "): head, t = [BOS], t[len(BOS) + 1:]
        if t.endswith(" " + EOS): tail, t = [EOS], t[:-len(EOS) - 1]
        return head + tokenize(t, self.lang) + tail

    def add_special_cases(self, toks):
        "Nothing to add: special tokens never reach spaCy."
