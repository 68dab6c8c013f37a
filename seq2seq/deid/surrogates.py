"""Surrogates: an invented value of the same type for each PHI span, in the note's language.

Values come from Faker's locale for the language (`locales.json`: es -> es_ES, de -> de_DE, ...):
- names keep their shape, word by word: a first name stays a first name (of the same gender when the
  original is one of the locale's male or female first names), a surname a surname, an initial an
  initial, particles (`de`, `van`, `la`) stay, so `Estefanía Romero Selas` becomes `Lucía Barroso
  Abad` and `Dr. Romero` later in the note `Dr. Barroso`; `Last, First` order and ALL CAPS are kept;
- streets (the name from Faker, the numbers after it format-preserving), cities, provinces or states,
  countries (in the language), hospitals (the language's templates), organisations, e-mails, URLs,
  user names and professions;
- identifiers, phone and fax numbers, ZIP codes: `ids.id_surrogate` (same shape, same checks);
- dates: `dates.shift_date`, one shift for the note (or, with a key, for every note of the key: the
  key's first shift, or its next one in a note where the first would move a date onto another date
  of the same note, see `_shift`); a date that cannot be read becomes mask characters;
- ages are kept up to `max_age` (89) and written as the language's cap above it (`90+`, `90 o más`).

Each value is drawn from a generator seeded by the original string in `keys.normal_form` (so `La
palma` and `La Palma` get one surrogate) and its kind: with a `Key`, by keyed HMAC, so the same
original gets the same surrogate in every note, run and process; without, by `seed` and the note's
id (per note). A surrogate is never the original and never holds a PHI string of the note (`avoid`),
so no original can reappear through another span's surrogate.
"""
import functools
import random
import re
from collections import Counter
from typing import Callable, Iterable, Optional

from .dates import shift_date
from .ids import id_surrogate
from .keys import Key, normal_form
from .locales import Locale, fold, locale

__all__ = ["Surrogates", "faker_for", "ALIASES"]

# tag types of other schemes that read as one of ours
ALIASES = {"PER": "NAME:OTHER", "PERSON": "NAME:OTHER", "LOC": "LOCATION:CITY", "GPE": "LOCATION:CITY",
           "ORG": "LOCATION:ORGANIZATION"}
_SHAPED = ("ID:", "CONTACT:PHONE", "CONTACT:FAX", "LOCATION:ZIP", "LOCATION:ROOM")
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@functools.lru_cache(maxsize=None)
def faker_for(faker_locale: str):
    "One Faker of `faker_locale` per process (reseeded before every draw)."
    from faker import Faker   # imported when the first surrogate is drawn: a second or so
    return Faker(faker_locale)


@functools.lru_cache(maxsize=None)
def _name_lists(faker_locale: str):
    "fold()ed male first names, female first names and surnames of the locale's person provider."
    prov = next(p for p in faker_for(faker_locale).providers if hasattr(p, "last_names"))
    # a compound first name tells the gender by its first word only ("José María" is a man's); a word in
    # both lists belongs to the one that starts more names with it (es_ES lists "María" as a man's name once)
    firsts = lambda names: Counter(fold(n.split()[0]) for n in names if n.split())  # noqa: E731
    m, f = firsts(getattr(prov, "first_names_male", ())), firsts(getattr(prov, "first_names_female", ()))
    male = {w for w in m if m[w] >= f.get(w, 0)}
    female = {w for w in f if f[w] >= m.get(w, 0)}
    return male, female, {fold(w) for n in getattr(prov, "last_names", ()) for w in n.split()}


def _case_like(old: str, new: str) -> str:
    "`new` in the case of `old`: ALL CAPS or all lower case when `old` is (else as drawn)."
    letters = [c for c in old if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters): return new.upper()
    if letters and all(c.islower() for c in letters): return new.lower()
    return new


class Surrogates:
    """Surrogate values for one note; `value(type, original)` returns the surrogate of a span (see the
    module docstring), the same every time for the same original within the note."""

    def __init__(self, doc_id: str = "", seed: int = 0, max_shift_days: int = 365, *, lang: str = "en",
                 key: Optional[Key] = None, max_age: int = 89, per_note_shift: bool = False, mask_char: str = "*",
                 avoid: Iterable[str] = (), dates: Iterable[str] = ()):
        self.doc_id, self.seed, self.key, self.max_age, self.mask_char = doc_id, seed, key, max_age, mask_char
        self.loc: Locale = locale(lang)
        self.seen: dict = {}
        avoid = {normal_form(a) for a in avoid if len(normal_form(a)) >= 3}
        self._avoid = re.compile("|".join(rf"(?<!\w){re.escape(a)}(?!\w)" for a in sorted(avoid, key=len, reverse=True))) \
            if avoid else None
        r = (random.Random(f"{seed}\x00{doc_id}") if key is None else
             random.Random(key.seed("date-shift", doc_id) if per_note_shift else key.seed("date-shift")))
        self.days = self._shift(r, max_shift_days, list(dates))

    def _shift(self, r: random.Random, most: int, dates: list, tries: int = 10) -> int:
        """The note's date shift: the first of the generator's shifts (1..`most` days, back or forth) that moves
        none of the note's `dates` onto a PHI string of the note (two dates a shift apart would otherwise show
        one's true value). A note whose dates lie so close together over so many years that none of `tries`
        such shifts avoids them gets longer ones (2, 4, ... 64 x `most`), and in the end the shift that
        moves the fewest dates onto the note's own."""
        best = None
        for k in range(7 * tries):
            days = r.randint(1, most << (k // tries)) * r.choice((-1, 1))
            hits = sum(self.leaks(new) for new in (shift_date(d, days, self.loc.lang) for d in dates) if new)
            if hits == 0: return days
            if best is None or hits < best[0]: best = (hits, days)
        return best[1]

    # ---------------------------------------------------------------- helpers

    def leaks(self, s: str) -> bool:
        "True when `s` holds a PHI string of the note (whole words, in normal form)."
        return bool(self._avoid and self._avoid.search(normal_form(s)))

    def rng(self, kind: str, original: str) -> random.Random:
        "The generator of the surrogate of `original` as a `kind`: keyed, or per note (module docstring)."
        norm = normal_form(original)
        if self.key is not None: return random.Random(self.key.seed("surrogate", kind, norm))
        return random.Random(f"{self.seed}\x00{self.doc_id}\x00{kind}\x00{norm}")

    def _draw(self, kind: str, original: str, make: Callable[[object], str], tries: int = 30,
              ok: Callable[[str], bool] = lambda s: True) -> Optional[str]:
        "A Faker value `make(faker)` for `original`, not the original, not leaking, passing `ok`; None after `tries`."
        r, fk = self.rng(kind, original), faker_for(self.loc.faker)
        for _ in range(tries):
            fk.seed_instance(r.getrandbits(64))
            new = _case_like(original, make(fk))
            if normal_form(new) != normal_form(original) and not self.leaks(new) and ok(new): return new
        return None

    # ---------------------------------------------------------------- the value of a span

    def value(self, type: str, original: str) -> str:
        "The surrogate of `original` (tag `type`), the same every time within this note."
        key = (type, original)
        if key not in self.seen: self.seen[key] = self._value(ALIASES.get(type, type), original)
        return self.seen[key]

    def _value(self, type: str, original: str) -> str:
        "A new surrogate; `[TYPE]` when no generator fits or none was found."
        cat = type.split(":")[0]
        if cat == "DATE":
            new = shift_date(original, self.days, self.loc.lang)
            return new if new is not None else re.sub(r"[^\r\n]", self.mask_char, original)
        if cat == "AGE": return self._age(original)
        if type.startswith(_SHAPED) or (cat == "LOCATION" and re.fullmatch(r"[\W\d_]*\d[\W\d_]*", original)):
            new = id_surrogate(original, self.rng("id:" + type, original), type, self.leaks)
        elif type == "NAME:USERNAME": new = self._draw("username", original, lambda f: f.user_name())
        elif cat == "NAME": new = self._name(original)
        elif type == "LOCATION:STREET": new = self.street(original)
        else:
            make = self._maker(type, original)
            new = None if make is None else self._draw(type, original, make)
        return new if new is not None else f"[{type}]"

    def _maker(self, type: str, original: str) -> Optional[Callable[[object], str]]:
        "The Faker call that makes a value of `type` (None: no generator)."
        # a two-letter code (MA) stays a code where the locale has them
        names = ("state_abbr",) if type == "LOCATION:STATE" and re.fullmatch(r"[A-Z]{2}", original) else ()
        region = lambda f: next(getattr(f, a)() for a in names + ("state", "region", "administrative_unit", "city")  # noqa: E731
                                if hasattr(f, a))
        hospital = lambda f: f.random_element(self.loc.hospitals).format(  # noqa: E731
            city=f.city(), last_name=f.last_name(), first_name=f.first_name())
        return {"LOCATION:CITY": lambda f: f.city(), "LOCATION:OTHER": lambda f: f.city(), "LOCATION:STATE": region,
                "LOCATION:COUNTRY": lambda f: f.country(), "LOCATION:HOSPITAL": hospital,
                "LOCATION:ORGANIZATION": lambda f: f.company(), "CONTACT:EMAIL": lambda f: f.email(),
                "CONTACT:URL": lambda f: f.url(), "CONTACT:IPADDR": lambda f: f.ipv4(),
                "PROFESSION": lambda f: f.job()}.get(type)

    def _age(self, original: str) -> str:
        "The age as it is up to max_age; above, its number becomes the language's cap (`90+`)."
        m = re.search(r"\d+", original)
        if m is None or int(m[0]) <= self.max_age: return original
        return original[:m.start()] + self.loc.age_cap + original[m.end():]

    # ---------------------------------------------------------------- names and streets

    def _name(self, original: str) -> Optional[str]:
        "A person's name of the same shape, word by word (module docstring)."
        parts = re.split(r"([^\w]+)", original)
        words = [k for k, p in enumerate(parts) if p and re.match(r"\w", p)]
        comma = next((k for k, p in enumerate(parts) if "," in p and words and k > words[0]), None)
        male, female, last = _name_lists(self.loc.faker)
        out, after_particle = list(parts), False
        for n, k in enumerate(words):
            w, f = parts[k], fold(parts[k])
            if len(w) == 1 and w.isalpha():
                out[k] = self._initial(w)
                continue
            if f in self.loc.particles and len(words) > 1:
                after_particle = True
                continue
            first_pos = (k > comma) if comma is not None else (n == 0 and len(words) > 1)
            is_first = not after_particle and ((f in male or f in female) and (f not in last or first_pos or len(words) == 1)
                                               or (first_pos and f not in last and len(words) > 1))
            if is_first:
                gender = "male" if f in male and f not in female else "female" if f in female and f not in male else ""
                out[k] = self._word(f"first{gender}", w, lambda fk, g=gender: getattr(fk, f"first_name_{g}" if g else "first_name")())
            else:
                out[k] = self._word("last", w, lambda fk: fk.last_name())
            after_particle = False
            if out[k] is None: return None
        return "".join(out)

    def _word(self, kind: str, word: str, make) -> Optional[str]:
        "One word of a name: a single-word Faker value when the locale has one, in the case of `word`."
        new = self._draw(kind, word, make, ok=lambda s: " " not in s and "-" not in s)
        return new if new is not None else self._draw(kind, word, make)

    def _initial(self, letter: str) -> str:
        "Another capital letter (lower case if `letter` was)."
        r = self.rng("initial", letter)
        new = r.choice(_UPPER.replace(letter.upper(), ""))
        return new.lower() if letter.islower() else new

    def street(self, original: str) -> Optional[str]:
        "A street of the locale; the numbers after its name (`, 23, 1D`) replaced, their shape kept."
        # a house number first (`12 Juniper Lane`), then the name, which ends where a comma or space is
        # followed by a number (or s/n): `Calle Mayor, 23, 1D`, `Ctra. N-332 Valencia, s/n`
        lead = re.match(r"\d+[A-Za-z]?\s+(?=\D)", original)
        head, body = (original[:lead.end()], original[lead.end():]) if lead else ("", original)
        cut = re.search(r"(?:,\s*|\s+)(?=\d|s/n\b|n[º°o]\.?\s*\d)", body, re.I)
        name, rest = (body[:cut.start()], body[cut.start():]) if cut else (body, "")
        new = self._draw("street", name, lambda f: f.street_name()) if name.strip() else ""
        if new is None: return None
        r = self.rng("street-number", original)
        for _ in range(10):
            # numbers and the letter stuck to one (`1D`) change; words such as `piso` or `izq.` stay
            # a number that did not start with 0 does not start with 0 now (house numbers: 12 -> 47, not 06)
            digits = lambda t: re.sub(r"\d+", lambda m: "".join(  # noqa: E731
                r.choice("123456789" if k == 0 and c != "0" else "0123456789") for k, c in enumerate(m[0])), t)
            tail = re.sub(r"(?<=\d)[A-Za-z](?![A-Za-z])", lambda m: _case_like(m[0], r.choice(_UPPER)), digits(rest))
            out = digits(head) + new + tail
            if out != original and not self.leaks(out): return out
        return None
