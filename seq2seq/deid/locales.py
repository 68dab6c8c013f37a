"""What redaction knows of each language (resources/deid/locales.json): the Faker locale of its
surrogates, how its dates are written (day-first or month-first, month and weekday names, the small
words allowed inside a date), how an age over the cap reads, and name particles and hospital templates.
"""
import functools
import json
import unicodedata
from dataclasses import dataclass
from typing import Dict, Tuple

from ..errors import UserError
from ..resources import resource

__all__ = ["REDACT_LANGS", "Locale", "locale", "fold"]


def fold(s: str) -> str:
    "`s` lower-cased, accents and outer dots removed: how names of months and particles are compared."
    s = unicodedata.normalize("NFD", s.casefold().strip("."))
    return "".join(c for c in s if not unicodedata.combining(c))


@dataclass(frozen=True)
class Locale:
    "One language of locales.json (see the module docstring); names are kept lower case."
    lang: str
    faker: str
    day_first: bool
    month_then_number: str          # "day" (March 4) or "year" (enero-04) for a month name followed by a number
    months: Tuple[str, ...]
    months_abbr: Tuple[Tuple[str, ...], ...]
    weekdays: Tuple[str, ...]
    weekdays_abbr: Tuple[Tuple[str, ...], ...]
    date_words: frozenset
    ordinals: Tuple[str, ...]
    age_cap: str
    particles: frozenset
    hospitals: Tuple[str, ...]

    @functools.cached_property
    def month_index(self) -> Dict[str, Tuple[int, int]]:
        "fold(name) -> (month 0-11, form): form 0 the full name, k>0 the k-th abbreviation."
        return _index(self.months, self.months_abbr)

    @functools.cached_property
    def weekday_index(self) -> Dict[str, Tuple[int, int]]:
        "fold(name) -> (weekday 0-6 from Monday, form), as `month_index`."
        return _index(self.weekdays, self.weekdays_abbr)


def _index(full: Tuple[str, ...], abbr: Tuple[Tuple[str, ...], ...]) -> Dict[str, Tuple[int, int]]:
    "Name -> (position, form) over full names and abbreviations; full names win a clash."
    res = {}
    for i, names in enumerate(abbr):
        for k, a in enumerate(names, 1): res.setdefault(fold(a), (i, k))
    for i, n in enumerate(full): res[fold(n)] = (i, 0)
    return res


@functools.lru_cache(maxsize=1)
def _table() -> Dict[str, dict]:
    "The raw table, by language code (comment keys left out)."
    with open(resource("deid", "locales.json"), encoding="utf-8") as f: raw = json.load(f)
    return {k: v for k, v in raw.items() if not k.startswith("_")}


REDACT_LANGS: Tuple[str, ...] = tuple(_table())


@functools.lru_cache(maxsize=None)
def locale(lang: str) -> Locale:
    "The Locale of `lang` (one of REDACT_LANGS); UserError naming the choices otherwise."
    t = _table().get(lang)
    if t is None: raise UserError(f"--lang {lang!r}: redaction knows {', '.join(REDACT_LANGS)}")
    tup = lambda xs: tuple(tuple(x) if isinstance(x, list) else x for x in xs)  # noqa: E731
    return Locale(lang, t["faker"], t["day_first"], t["month_then_number"], tuple(t["months"]), tup(t["months_abbr"]),
                  tuple(t["weekdays"]), tup(t["weekdays_abbr"]), frozenset(map(fold, t["date_words"])),
                  tuple(t["ordinals"]), t["age_cap"], frozenset(map(fold, t["particles"])), tuple(t["hospitals"]))

