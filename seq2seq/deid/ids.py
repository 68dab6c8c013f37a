"""Format-preserving surrogates for identifiers, phone numbers, ZIP codes, licence and record numbers.

`same_shape(original, rng)` keeps the length and every character's class: a digit becomes a random
digit, an ASCII letter a random letter of the same case, anything else (spaces, `-`, `/`, `.`,
brackets, accented letters) stays, so `603-13-973` gives `418-55-206` and `(617) 555-0199` gives
`(302) 871-4456`. A phone's leading `+NN` or `00NN` country code is kept.

Where the original passes a known check, the surrogate passes it too (python-stdnum): a Spanish
DNI (`12345678Z`) or NIE (`X1234567L`) gets the control letter of its new digits, a 13-19 digit
card-like number its Luhn digit, a Spanish postal code stays a valid one (01-52 as its first digits).
"""
import random
import re
from typing import Callable, List, Optional, Tuple

from stdnum import luhn
from stdnum.es import dni, nie
from stdnum.es import postal_code as es_postal

__all__ = ["same_shape", "shape_of", "id_surrogate", "CHECKS"]

_DIGITS, _LOWER, _UPPER = "0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_COUNTRY_CODE = re.compile(r"^(\+|00)\d{1,3}(?=[\s.\-)/])")


def shape_of(s: str) -> str:
    "The character-class shape of `s`: 9 a digit, a/A an ASCII letter, any other character itself."
    return "".join("9" if c in _DIGITS else "a" if c in _LOWER else "A" if c in _UPPER else c for c in s)


def same_shape(original: str, rng: random.Random, keep: int = 0) -> str:
    "A random string of the shape of `original` (see `shape_of`); its first `keep` characters kept."
    out = list(original[:keep])
    for c in original[keep:]:
        pool = _DIGITS if c in _DIGITS else _LOWER if c in _LOWER else _UPPER if c in _UPPER else None
        out.append(rng.choice(pool) if pool else c)
    return "".join(out)


def _alnum_positions(s: str) -> List[int]:
    "Indexes of the ASCII letters and digits of `s`."
    return [i for i, c in enumerate(s) if c in _DIGITS or c in _LOWER or c in _UPPER]


def _put(s: str, positions: List[int], chars: str) -> str:
    "`s` with `chars` written at `positions` (letters in the case already there)."
    out = list(s)
    for i, c in zip(positions, chars): out[i] = c.lower() if s[i] in _LOWER else c
    return "".join(out)


def _fix_dni(s: str, rng: random.Random) -> str:
    "The DNI control letter of the new digits."
    pos = _alnum_positions(s)
    digits = "".join(s[i] for i in pos[:-1])
    return _put(s, pos[-1:], dni.calc_check_digit(digits))


def _fix_nie(s: str, rng: random.Random) -> str:
    "An X/Y/Z first letter and the NIE control letter."
    pos = _alnum_positions(s)
    s = _put(s, pos[:1], rng.choice("XYZ"))
    body = "".join(s[i] for i in pos[:-1]).upper()
    return _put(s, pos[-1:], nie.calc_check_digit(body))


def _fix_luhn(s: str, rng: random.Random) -> str:
    "A Luhn check digit at the end."
    pos = _alnum_positions(s)
    return _put(s, pos[-1:], luhn.calc_check_digit("".join(s[i] for i in pos[:-1])))


def _fix_postal(s: str, rng: random.Random) -> str:
    "A Spanish province number (01-52) in the first two digits."
    pos = _alnum_positions(s)
    return _put(s, pos[:2], f"{rng.randint(1, 52):02d}")


def _card_like(s: str) -> bool:
    "13-19 digits (with separators) that pass Luhn."
    compact = re.sub(r"[\s\-]", "", s)
    return compact.isdigit() and 13 <= len(compact) <= 19 and luhn.is_valid(compact)


# (name, the types it applies to (by prefix), does the original pass it, make a candidate pass it)
CHECKS: List[Tuple[str, Tuple[str, ...], Callable[[str], bool], Callable[[str, random.Random], str]]] = [
    ("es.dni", ("ID:",), lambda s: bool(re.fullmatch(r"\d{8}[\s\-]?[A-Za-z]", s.strip())) and dni.is_valid(s), _fix_dni),
    ("es.nie", ("ID:",), lambda s: bool(re.fullmatch(r"[XYZxyz][\s\-]?\d{7}[\s\-]?[A-Za-z]", s.strip())) and nie.is_valid(s),
     _fix_nie),
    ("luhn", ("ID:",), _card_like, _fix_luhn),
    ("es.postal_code", ("LOCATION:ZIP",), lambda s: bool(re.fullmatch(r"\d{5}", s)) and es_postal.is_valid(s), _fix_postal),
]


def id_surrogate(original: str, rng: random.Random, type: str = "ID:IDNUM", avoid: Callable[[str], bool] = lambda s: False,
                 tries: int = 50) -> Optional[str]:
    """A surrogate of the identifier `original` (tag `type`) with its shape, passing every check of
    `CHECKS` the original passes; never the original nor a string `avoid` refuses; None after `tries`."""
    checks = [(ok, fix) for _, types, ok, fix in CHECKS if type.startswith(types) and ok(original)]
    keep = 0
    if type.startswith(("CONTACT:PHONE", "CONTACT:FAX")):
        m = _COUNTRY_CODE.match(original)
        keep = m.end() if m else 0
    for _ in range(tries):
        new = same_shape(original, rng, keep)
        for ok, fix in checks: new = fix(new, rng)
        if new != original and all(ok(new) for ok, _ in checks) and not avoid(new): return new
    return None
