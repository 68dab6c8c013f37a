"""De-identify a document given its PHI spans: mask, type placeholders, or realistic surrogates.

- `mask`: every character of a span becomes the mask character (line breaks are kept), so the
  text keeps its length and every offset stays valid.
- `type`: each span becomes `[TYPE]`.
- `surrogate`: each span becomes an invented value of the same type, drawn from `synth.py`'s
  generators (names, places, IDs, phones, e-mails, ...). Dates are not drawn: every date of a
  document is shifted by the same random number of days, written in the original's own format
  (`3/4/2091` -> `5/19/2091`, `March 4th` -> `May 19th`), so intervals between dates survive.
  Within a document the same original string always gets the same surrogate; the choices depend
  only on `seed` and the document id, so a run is reproducible and another seed gives others.
"""
import calendar
import datetime as dt
import random
import re
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from ..data.synth import phi_value
from ..errors import UserError

__all__ = ["REDACT_MODES", "RedactConfig", "redact", "Surrogates", "shift_date"]

REDACT_MODES = ("none", "mask", "type", "surrogate")
_MONTHS = list(calendar.month_name)[1:]
_DAYS = list(calendar.day_name)
_MON = "|".join(m[:3] + f"(?:{m[3:]})?" if len(m) > 3 else m for m in _MONTHS)   # Jan or January
_WD = "|".join(d[:3] + f"(?:{d[3:]})?" for d in _DAYS)
_ORD = r"(?P<ord>st|nd|rd|th)?"
# every date layout `synth.py` writes, and the usual clinical ones; group names say what each field is
_DATE_RES = [re.compile(p, re.I) for p in (
    r"(?P<m>\d{1,2})(?P<sep>[/.-])(?P<d>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})",
    r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})",
    rf"(?P<mon>{_MON})\.? (?P<d>\d{{1,2}}){_ORD},? (?P<y>\d{{4}})",
    rf"(?P<d>\d{{1,2}}){_ORD}[ -](?P<mon>{_MON})\.?[ -](?P<y>\d{{4}})",
    rf"(?P<mon>{_MON})\.? (?P<d>\d{{1,2}}){_ORD}",
    rf"(?P<d>\d{{1,2}}){_ORD} (?P<mon>{_MON})",
    r"(?P<m>\d{1,2})/(?P<d>\d{1,2})",
    rf"(?P<mon>{_MON})\.?,? (?P<y>\d{{4}})",
    r"(?P<m>\d{1,2})/(?P<y>\d{4})",
    r"(?P<y>\d{4})",
    rf"(?P<wd>{_WD})",
    rf"(?P<mon>{_MON})",
)]


class RedactError(UserError):
    "A redaction option is wrong (mode, mask character)."


@dataclass
class RedactConfig:
    """How predicted spans are removed from the text.

    mode: none, mask, type or surrogate (see the module docstring).
    mask_char: the character `mask` writes (one character).
    seed: seeds the surrogates and the date shift (with each document's id).
    max_shift_days: the date shift is drawn from 1..max_shift_days days, forward or back.
    """
    mode: str = "none"
    mask_char: str = "*"
    seed: int = 0
    max_shift_days: int = 365

    def __post_init__(self):
        if self.mode not in REDACT_MODES:
            raise RedactError(f"--redact {self.mode!r}: choose one of {', '.join(REDACT_MODES)}")
        if len(self.mask_char) != 1 or self.mask_char in "\r\n":
            raise RedactError(f"--mask-char {self.mask_char!r}: give exactly one character (not a line break)")
        if self.max_shift_days < 1: raise RedactError(f"max_shift_days must be >= 1, got {self.max_shift_days}")


# ---------------------------------------------------------------- dates

def _fmt_num(old: str, new: int) -> str:
    "`new` written like the digits `old`: zero-padded to the same width when `old` was."
    return f"{new:0{len(old)}d}" if old.startswith("0") and len(old) > 1 else str(new)


def _fmt_name(old: str, names: list, i: int) -> str:
    "Month/day name `names[i]` written like `old`: abbreviated (3 letters) if it was, same case."
    new = names[i] if old.lower() in (n.lower() for n in names) else names[i][:3]
    if old.isupper(): return new.upper()
    return new.lower() if old.islower() else new


def _ordinal(d: int) -> str:
    "Suffix of an ordinal: 1 -> st, 12 -> th, 22 -> nd."
    return "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")


def _month_of(g: dict) -> Optional[int]:
    "Month number from a numeric `m` or a name `mon` group."
    if g.get("m"): return int(g["m"])
    if g.get("mon"): return next(i + 1 for i, m in enumerate(_MONTHS) if m.lower().startswith(g["mon"].lower()[:3]))
    return None


def _year_of(y: str) -> int:
    "A four-digit year from `y` (two digits read as 19xx above 30, else 20xx)."
    return int(y) if len(y) == 4 else (1900 if int(y) > 30 else 2000) + int(y)


def _shifted(g: dict, days: int) -> Optional[dict]:
    "New field values (y, m, d, wd) of the date in groups `g` moved by `days`; None if not a date."
    m, months = _month_of(g), round(days / 30.44) or (1 if days > 0 else -1)
    if g.get("wd"):
        return {"wd": (next(i for i, d in enumerate(_DAYS) if d.lower().startswith(g["wd"].lower()[:3])) + days) % 7}
    try:
        if g.get("d") and m:
            base = dt.date(_year_of(g["y"]) if g.get("y") else 2000, m, int(g["d"])) + dt.timedelta(days)
            return {"y": base.year, "m": base.month, "d": base.day}
        if m:
            k = (_year_of(g["y"]) if g.get("y") else 2000) * 12 + m - 1 + months
            return {"y": k // 12, "m": k % 12 + 1}
        years = round(days / 365.25) or (1 if days > 0 else -1)
        return {"y": _year_of(g["y"]) + years}
    except ValueError:   # e.g. 2/30: not a date, so not shifted
        return None


def shift_date(text: str, days: int) -> Optional[str]:
    """`text` (a whole date) moved by `days`, in its own format; None when no known layout matches.

    Year-only dates move by whole years and month-only ones by whole months (at least one),
    so no original date is ever left as it was.
    """
    for rx in _DATE_RES:
        mt = rx.fullmatch(text.strip())
        if mt is None: continue
        new = _shifted(mt.groupdict(), days)
        if new is None: return None
        off, out = len(text) - len(text.lstrip()), text
        for name in sorted((k for k, v in mt.groupdict().items() if v and k not in ("sep",)),
                           key=lambda k: -mt.start(k)):
            s, e, old = mt.start(name) + off, mt.end(name) + off, mt[name]
            out = out[:s] + _field(name, old, new) + out[e:]
        return out
    return None


def _field(name: str, old: str, new: dict) -> str:
    "The replacement text of one field of a date."
    if name == "wd": return _fmt_name(old, _DAYS, new["wd"])
    if name == "mon": return _fmt_name(old, _MONTHS, new["m"] - 1)
    if name == "ord": return _ordinal(new["d"])
    if name == "y" and len(old) == 2: return f"{new['y'] % 100:02d}"
    return _fmt_num(old, new[name])


# ---------------------------------------------------------------- surrogates

class Surrogates:
    """Surrogate values for one document: consistent (a string keeps its surrogate) and seeded.

    `value(type, original)` returns the surrogate of `original`, a span of tag `type`.
    """

    def __init__(self, doc_id: str, seed: int, max_shift_days: int = 365):
        self.r = random.Random(f"{seed}\x00{doc_id}")
        self.days = self.r.randint(1, max_shift_days) * self.r.choice((-1, 1))
        self.seen: dict = {}

    def value(self, type: str, original: str) -> str:
        "The surrogate of `original` (tag `type`), the same every time within this document."
        key = (type, original)
        if key not in self.seen: self.seen[key] = self._draw(type, original)
        return self.seen[key]

    def _draw(self, type: str, original: str) -> str:
        "A new surrogate, never equal to the original (a few draws, then a type placeholder)."
        if type.split(":")[0] == "DATE":
            new = shift_date(original, self.days)
            if new is not None and new != original: return new
        for _ in range(10):
            new = phi_value(type, self.r, _style(type, original))
            if new is None: return f"[{type}]"
            if new != original: return new
        return f"[{type}]"


def _style(type: str, original: str) -> Optional[str]:
    "The synth.py style that looks most like `original` (names: one word, initials, 'Last, First')."
    if not type.startswith("NAME:") or type == "NAME:USERNAME": return None
    words = original.split()
    if "," in original: return "lastfirst"
    if len(words) == 1: return "initials" if original.isupper() and len(original) <= 3 else "last"
    if len(words) == 2 and re.fullmatch(r"[A-Z]\.", words[0]): return "initial"
    return "middle" if len(words) == 3 else "full"


# ---------------------------------------------------------------- the text

def redact(text: str, spans: Sequence, cfg: RedactConfig, doc_id: str = "") -> str:
    """`text` with every span of `spans` (objects with start, end, type; not overlapping)
    replaced as `cfg.mode` says; `none` returns `text` unchanged."""
    if cfg.mode == "none": return text
    sur = Surrogates(doc_id, cfg.seed, cfg.max_shift_days) if cfg.mode == "surrogate" else None
    rule: Callable[[str, str], str] = {
        "mask": lambda t, s: re.sub(r"[^\r\n]", cfg.mask_char, s),
        "type": lambda t, s: f"[{t}]",
        "surrogate": lambda t, s: sur.value(t, s)}[cfg.mode]
    out, pos = [], 0
    for sp in sorted(spans, key=lambda s: s.start):
        if sp.start < pos: raise ValueError(f"overlapping spans at {sp.start} in document {doc_id!r}")
        out += [text[pos:sp.start], rule(sp.type, text[sp.start:sp.end])]
        pos = sp.end
    return "".join(out + [text[pos:]])
