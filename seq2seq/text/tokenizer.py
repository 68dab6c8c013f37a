"""Reversible tokenization: spaCy 3 words, `{{...}}` markers kept whole, whitespace restorable.

Tokens carry no whitespace. Between two words a *default* separator applies (a space, or
nothing around punctuation); markers are zero-width, so where markers stand between two words,
that default goes after their closing and before their opening markers (outside the spans) and
every other gap between them defaults to nothing. Where the text differs
from the default, a control token records it: `xxjn` (nothing where a space was expected),
`xxsp` (one space where nothing was expected), or a literal whitespace token (`'  '`,
`'\\n'`, ...) for anything else. So `detokenize(tokenize(s)) == s` for every string.

Annotated text is tokenized *plain first*: the plain text is split by spaCy exactly as a
source sentence would be, tokens are cut at tag boundaries (and finer inside tokens with digits, see `_fine_cuts`),
and markers are woven in. So the
target sequence with its markers removed is the source sequence, which faithful decoding
relies on (apart from a tag boundary inside a spaCy token, where the target has one more cut).
"""
import bisect
import re
from typing import List, NamedTuple

from ..compat import blank_nlp  # before fastai
from fastai.text.transform import BaseTokenizer, BOS, EOS, FLD, PAD, TK_MAJ, TK_REP, TK_UP, TK_WREP, UNK

from .tags import MARKER_RE, is_close, is_marker, is_open

__all__ = ["JOIN", "SPACE", "FAKE", "SPECIAL_TOKENS", "Piece", "pieces", "tokenize", "detokenize", "MarkerTokenizer", "is_control"]

JOIN, SPACE = "xxjn", "xxsp"
FAKE = "xxfake"  # fastai pads a vocabulary to a multiple of 8 with it
# fastai v1's special tokens, FAKE and our whitespace-control tokens: never words of a text
SPECIAL_TOKENS = frozenset([UNK, PAD, BOS, EOS, FLD, TK_MAJ, TK_UP, TK_REP, TK_WREP, FAKE, JOIN, SPACE])
_DETOK_NO_SPACE_BEFORE = set(".,;:!?)]}%/-")
_DETOK_NO_SPACE_AFTER = set("([{$#/-")


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
    if b[0] in _DETOK_NO_SPACE_BEFORE or b[0] == "'" or b == "n't": return ""
    if a[-1] in _DETOK_NO_SPACE_AFTER: return ""
    return " "


def _default_seps(toks: List[str]) -> List[str]:
    "Default separator of each adjacent pair of `toks` (words and markers, no control tokens)."
    res = [""] * max(len(toks) - 1, 0)
    words = [i for i, t in enumerate(toks) if not is_marker(t)]
    for p, q in zip(words, words[1:]):
        n_close = 0       # the closing markers right after word p
        while p + 1 + n_close < q and is_close(toks[p + 1 + n_close]): n_close += 1
        # the words' own default, so that removing the markers leaves the source's controls
        res[p + n_close] = default_sep(toks[p], toks[q])
    return res


_RUNS = re.compile(r"[^\W\d_]+|\d+|.", re.S)


def _fine_cuts(tok: str) -> List[int]:
    """Offsets inside a spaCy token where we cut it further, so tag boundaries fall between tokens.

    Tokens with a digit (IDs, dates, codes: `nhc-739146.`, `CP:41001`, `21yo`) are cut into runs
    of letters, runs of digits and single other characters; an initial (`D.`) loses its period.
    """
    if any(c.isdigit() for c in tok): return [m.start() for m in _RUNS.finditer(tok)][1:]
    if len(tok) == 2 and tok[1] == "." and tok[0].isalpha(): return [1]
    return []


def _word_pieces(plain: str, lang: str, cuts: set) -> List[Piece]:
    "spaCy's non-space tokens of `plain`, cut finer (`_fine_cuts`) and at the offsets in `cuts`."
    res, cuts = [], sorted(cuts)
    for t in blank_nlp(lang).tokenizer(plain):
        if t.is_space: continue
        text, s = t.text, t.idx
        e = s + len(text)
        fine = () if text.isalpha() else _fine_cuts(text)   # all letters: nothing to cut (most tokens)
        inside = cuts[bisect.bisect_right(cuts, s):bisect.bisect_left(cuts, e)] if cuts else ()
        if not fine and not inside:       # the common case: the token is one piece
            res.append(Piece(text, s, e))
            continue
        inner = sorted({*inside, *(s + c for c in fine)})
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
    res, dflt = [], _default_seps([it.text for it in items])
    if items and items[0].start > 0: res.append(Piece(plain[:items[0].start], 0, items[0].start))
    # the gap after each item ends where the next starts (the last: at the end, wanting nothing)
    ends, wants = [it.start for it in items[1:]] + [len(plain)], dflt + [""]
    for it, gap_end, want in zip(items, ends, wants):
        res.append(it)
        ws = plain[it.end:gap_end]
        if ws == want: continue
        res.append(Piece(JOIN if ws == "" else SPACE if ws == " " else ws, it.end, gap_end))
    if not items and plain: res.append(Piece(plain, 0, len(plain)))
    return res


def tokenize(text: str, lang: str = "en") -> List[str]:
    "Reversible token list of `text` (see module docstring)."
    return [p.text for p in pieces(text, lang)]


def detokenize(tokens) -> str:
    "Inverse of `tokenize`; BOS/EOS/padding are dropped."
    toks = [t for t in tokens if t not in (BOS, EOS, PAD, FAKE)]
    dflt = _default_seps([t for t in toks if not is_control(t)])
    out, n, gap = [], 0, None  # n: words and markers written; gap: text of the controls after the last one
    for t in toks:
        if is_control(t):
            gap = ("" if gap is None else gap) + ("" if t == JOIN else " " if t == SPACE else t)
            continue
        if n: out.append(dflt[n - 1] if gap is None else gap)
        elif gap: out.append(gap)
        out.append(t)
        n, gap = n + 1, None
    if gap: out.append(gap)
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
