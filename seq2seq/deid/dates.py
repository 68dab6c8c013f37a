"""Dates read and written the way a language writes them, and moved by a number of days.

`read_date(text, lang)` splits a date into numbers, month and weekday names (full or abbreviated,
any case, accents optional), ordinal suffixes (`3rd`, `1º`, `1er`) and glue: separators (`/ . - ,`
and spaces, kept verbatim) and the few words a language puts inside a date (`3 de marzo de 2015`,
`am 3. März 2015`, `the 3rd of March`). Numbers take their roles from their neighbours: a 4-digit
first number is a year (ISO), otherwise the language decides whether `11/02/1970` is day-first
(es, de, fr, it, pt, nl) or month-first (en); a reading that is no date (month 28) falls back to
the other order. Anything else in the span (`hace 2 años`, `febrero y abril`) makes it unreadable:
`shift_date` returns None and the redaction masks it, never inventing a random date.

`shift_date(text, days, lang)` writes the moved date back in the original's exact format: the same
glue, zero padding (`28/05/2016` -> `07/06/2016`, `28/5/2016` -> `7/6/2016`), 2- or 4-digit year,
name form (full or abbreviation) and case, a weekday recomputed from the new date, an ordinal suffix
that fits the new day. A date without a day moves by
whole months (at least one), a year alone by whole years (at least one), so no date stays as it was;
a time of day after the date is kept.
"""
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .locales import Locale, fold, locale

__all__ = ["DateParts", "read_date", "shift_date", "year_of"]

_TOKEN = re.compile(r"(\d+)|([^\W\d_]+(?:'[^\W\d_]+)?)|([\s/.,\-']+)|(.)", re.S)
_TIME = re.compile(r"(?:[\s,]+|T)\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?\s*$", re.I)


@dataclass
class DateParts:
    """A date as read: its tokens and each token's role (`d`, `m`, `y` numbers, `mon`, `wd` names, `ord`
    suffix, None for glue), the values found (None where the text has no such field), the form of each
    name (0 full, k the k-th abbreviation) and a kept time-of-day tail."""
    tokens: List[str]
    roles: List[Optional[str]]
    y: Optional[int] = None
    m: Optional[int] = None
    d: Optional[int] = None
    wd: Optional[int] = None
    forms: Dict[int, int] = field(default_factory=dict)
    tail: str = ""

    @property
    def date(self) -> Optional[dt.date]:
        "The full date, when the text has a day, a month and a year."
        return dt.date(self.y, self.m, self.d) if None not in (self.y, self.m, self.d) else None


def year_of(y: str) -> int:
    "A year from its digits: two digits read as 19xx above 30, else 20xx."
    return int(y) if len(y) != 2 else (1900 if int(y) > 30 else 2000) + int(y)


def _tokens(text: str, loc: Locale) -> Optional[Tuple[List[str], List[Optional[str]], Dict[int, int]]]:
    "Tokens, their first roles (N for a number, mon, wd, ord or None) and name forms; None on a foreign token."
    toks, roles, forms = [], [], {}
    for mt in _TOKEN.finditer(text):
        num, word, glue, other = mt.groups()
        i = len(toks)
        toks.append(mt[0])
        if other is not None: return None
        if glue is not None: roles.append(None); continue
        if num is not None: roles.append("N"); continue
        f = fold(word)
        if f in loc.month_index: roles.append("mon"); forms[i] = loc.month_index[f][1]
        elif f in loc.weekday_index: roles.append("wd"); forms[i] = loc.weekday_index[f][1]
        elif i and roles[-1] == "N" and f in map(fold, loc.ordinals): roles.append("ord")
        elif f in loc.date_words: roles.append(None)
        else: return None
    return toks, roles, forms


def _numbers(kinds: List[Tuple[str, int]], toks: List[str], loc: Locale) -> Optional[Dict[int, str]]:
    "Roles of the numbers and month names (token index -> d, m, y, mon) from their sequence; None if no layout fits."
    sig = "".join("N" if k == "N" else "M" for k, _ in kinds)
    idx = [i for _, i in kinds]
    ln = [len(toks[i]) for i in idx]
    if sig == "NNN":
        if ln[0] == 4: return dict(zip(idx, "ymd"))
        if ln[2] not in (2, 4): return None
        orders = ("dmy", "mdy") if loc.day_first else ("mdy", "dmy")
        for o in orders:
            r = dict(zip(idx, o))
            if _valid(r, toks): return r
        return None
    if sig == "NN":
        if ln[0] == 4: return dict(zip(idx, "ym"))
        if ln[1] == 4: return dict(zip(idx, "my"))
        for o in (("dm", "md") if loc.day_first else ("md", "dm")):
            r = dict(zip(idx, o))
            if _valid(r, toks): return r
        return None
    layouts = {"N": ["y"] if ln[0] == 4 else None, "NMN": ["d", "mon", "y"], "MNN": ["mon", "d", "y"],
               "NM": ["d", "mon"], "M": ["mon"]}
    if sig == "MN":
        if ln[1] == 4 or (loc.month_then_number == "year" and ln[1] == 2): return {idx[0]: "mon", idx[1]: "y"}
        return {idx[0]: "mon", idx[1]: "d"}
    lay = layouts.get(sig)
    if lay is None or (sig in ("NMN", "MNN") and ln[2] not in (2, 4)): return None
    return dict(zip(idx, lay))


def _valid(roles: Dict[int, str], toks: List[str]) -> bool:
    "True when the numbers given these roles make a calendar date (a leap year when there is no year)."
    v = {r: toks[i] for i, r in roles.items()}
    try: dt.date(year_of(v["y"]) if "y" in v else 2000, int(v.get("m", 1)), int(v.get("d", 1)))
    except ValueError: return False
    return True


def read_date(text: str, lang: str = "en") -> Optional[DateParts]:
    "The DateParts of `text` (a whole date in language `lang`), or None when it is not a date it can read."
    loc = locale(lang)
    tm = _TIME.search(text)
    body, tail = (text[:tm.start()], tm[0]) if tm and tm.start() > 0 else (text, "")
    got = _tokens(body, loc)
    if got is None: return None
    toks, roles, forms = got
    wds = [i for i, r in enumerate(roles) if r == "wd"]
    if len(wds) > 1: return None
    kinds = [("N" if r == "N" else "M", i) for i, r in enumerate(roles) if r in ("N", "mon")]
    if not kinds:
        if not wds: return None
        return DateParts(toks, roles, wd=loc.weekday_index[fold(toks[wds[0]])][0], forms=forms, tail=tail)
    num_roles = _numbers(kinds, toks, loc)
    if num_roles is None: return None
    for i, r in num_roles.items(): roles[i] = r
    p = DateParts(toks, roles, forms=forms, tail=tail)
    for i, r in num_roles.items():
        if r == "y": p.y = year_of(toks[i])
        elif r == "m": p.m = int(toks[i])
        elif r == "d": p.d = int(toks[i])
        else: p.m = loc.month_index[fold(toks[i])][0] + 1
    if wds: p.wd = loc.weekday_index[fold(toks[wds[0]])][0]
    return p if _complete(p) else None


def _complete(p: DateParts) -> bool:
    "A date the shift can move: a valid day-month (-year), month (-year) or year; no day without a month."
    if p.d is not None and p.m is None: return False
    if p.m is not None and not 1 <= p.m <= 12: return False
    if p.d is not None:
        try: dt.date(p.y or 2000, p.m, p.d)
        except ValueError: return False
    return True


def _moved(p: DateParts, days: int) -> DateParts:
    "The values of `p` moved by `days` (see the module docstring)."
    sign = 1 if days > 0 else -1
    q = DateParts(p.tokens, p.roles, forms=p.forms, tail=p.tail)
    if p.d is not None:
        new = dt.date(p.y or 2000, p.m, p.d) + dt.timedelta(days)
        q.y, q.m, q.d = (new.year if p.y is not None else None), new.month, new.day
        q.wd = None if p.wd is None else (new.weekday() if p.y is not None else (p.wd + days) % 7)
    elif p.m is not None:
        months = round(days / 30.44) or sign
        if p.y is None and months % 12 == 0: months += sign      # a month alone must not come back to itself
        k = (p.y or 2000) * 12 + p.m - 1 + months
        q.y, q.m = (k // 12 if p.y is not None else None), k % 12 + 1
    elif p.y is not None:
        q.y = p.y + (round(days / 365.25) or sign)
    if p.wd is not None and p.d is None: q.wd = (p.wd + days) % 7
    return q


def _case_like(old: str, new: str) -> str:
    "`new` in the case of `old` (upper, lower or capitalised)."
    if old.isupper() and len(old) > 1: return new.upper()
    if old[:1].isupper(): return new[:1].upper() + new[1:]
    return new


def _name(old: str, full: str, abbrs: Tuple[str, ...], form: int) -> str:
    "A month or weekday name written like `old`: the same form (full or k-th abbreviation) and case."
    new = full if form == 0 or not abbrs else abbrs[min(form, len(abbrs)) - 1]
    return _case_like(old, new)


def _number(old: str, new: int, padded: bool = False) -> str:
    "`new` with the width of `old` when `old` was zero-padded (or is two digits in a `padded` date)."
    return f"{new:0{len(old)}d}" if len(old) > 1 and (old.startswith("0") or padded) else str(new)


def _padded(p: DateParts) -> bool:
    "True when the date writes days and months on two digits: one of them zero-padded, or all two digits long."
    nums = [t for t, r in zip(p.tokens, p.roles) if r in ("d", "m")]
    return bool(nums) and (any(t.startswith("0") for t in nums) or all(len(t) == 2 for t in nums))


def _ordinal(old: str, d: int, lang: str) -> str:
    "The ordinal suffix after day `d`, in the form of `old`."
    if lang == "en": new = "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    elif lang == "fr": new = old if d == 1 else ""
    else: new = old
    return new.upper() if old.isupper() else new


def _write(p: DateParts, q: DateParts, loc: Locale) -> str:
    "The tokens of `p` with every field replaced by the values of `q`."
    out, padded = [], _padded(p)
    for i, (tok, r) in enumerate(zip(p.tokens, p.roles)):
        if r == "d": tok = _number(tok, q.d, padded)
        elif r == "m": tok = _number(tok, q.m, padded)
        elif r == "y": tok = f"{q.y % 100:02d}" if len(tok) == 2 else str(q.y)
        elif r == "mon": tok = _name(tok, loc.months[q.m - 1], loc.months_abbr[q.m - 1], p.forms[i])
        elif r == "wd": tok = _name(tok, loc.weekdays[q.wd], loc.weekdays_abbr[q.wd], p.forms[i])
        elif r == "ord": tok = _ordinal(tok, q.d, loc.lang)
        out.append(tok)
    return "".join(out) + p.tail


def shift_date(text: str, days: int, lang: str = "en") -> Optional[str]:
    """`text` (a whole date in language `lang`) moved by `days` (not 0), in its own format; None when it
    cannot be read (see the module docstring)."""
    p = read_date(text, lang)
    if p is None: return None
    return _write(p, _moved(p, days), locale(lang))
