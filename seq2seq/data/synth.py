"""Synthetic clinical-note sentences with surrogate PHI, tagged inline i2b2-2014 style.

Every name, place, number and date here is invented (dates fall in odd years 2071-2109,
as i2b2 surrogates do), so the output holds no real patient data. A sentence comes from a
template such as ``"Seen by Dr. {NAME:DOCTOR|last} on {DATE}."``: an upper-case slot is a
PHI type (written as a tagged span, ``|style`` picks a surface form), a lower-case slot is
untagged clinical filler (``{Drug}`` capitalises it). Text is assembled from pieces, so
removing the ``{{TYPE}}``/``{{/TYPE}}`` markers from ``annotated_text`` gives ``orig_text``
exactly. Only ``random.Random(seed)`` is used: the same seed gives the same rows.
"""
import calendar
import csv
import json
import random
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Optional

from ..resources import resource
from ..text.tags import close_marker, open_marker, tag_types
from ..utils import atomic_write

__all__ = ["PHI_TYPES", "TEMPLATES", "PLAIN_TEMPLATES", "GENERATORS", "fake", "phi_value", "make_pairs", "write_csv",
           "span_counts"]

PHI_TYPES = (
    "NAME:PATIENT", "NAME:DOCTOR", "NAME:USERNAME", "DATE", "AGE",
    "LOCATION:HOSPITAL", "LOCATION:CITY", "LOCATION:STATE", "LOCATION:STREET", "LOCATION:ZIP",
    "LOCATION:COUNTRY", "LOCATION:ORGANIZATION", "ID:MEDICALRECORD", "ID:IDNUM",
    "CONTACT:PHONE", "CONTACT:FAX", "CONTACT:EMAIL", "PROFESSION",
)

# ---------------------------------------------------------------- word lists and templates
# Our own invented lists, in the package data (resources/synth/words.json). Templates: an upper-case
# slot is a PHI type (a tagged span), a lower-case slot untagged filler.
WORDS_FILE = resource("synth", "words.json")


def _load_words(path: Path = WORDS_FILE) -> dict:
    "The word lists and templates, by lower-case name."
    with open(path, encoding="utf-8") as f: return json.load(f)


_WORDS = _load_words()
FIRST = _WORDS["first"]
LAST = _WORDS["last"]
PROFESSIONS = _WORDS["professions"]
PLACE_HEAD = _WORDS["place_head"]
PLACE_TAIL = _WORDS["place_tail"]
PLACE_EXTRA = _WORDS["place_extra"]
STREET_WORDS = _WORDS["street_words"]
STREET_KINDS = _WORDS["street_kinds"]
HOSPITAL_KINDS = _WORDS["hospital_kinds"]
SAINTS = _WORDS["saints"]
ORG_KINDS = _WORDS["org_kinds"]
STATES = _WORDS["states"]
COUNTRIES = _WORDS["countries"]
EMAIL_DOMAINS = _WORDS["email_domains"]
SEX = _WORDS["sex"]
RELATIONS = _WORDS["relations"]
CONDITIONS = _WORDS["conditions"]
SYMPTOMS = _WORDS["symptoms"]
DRUG_DOSES = _WORDS["drug_doses"]  # plausible strengths: "aspirin 81 mg", not "aspirin 1 g"
DRUGS = list(DRUG_DOSES)
ROUTES = _WORDS["routes"]
FREQS = _WORDS["freqs"]
DURATIONS = _WORDS["durations"]
TESTS = _WORDS["tests"]
FINDINGS = _WORDS["findings"]
PROCEDURES = _WORDS["procedures"]
SPECIALTIES = _WORDS["specialties"]
LAB_RESULTS = _WORDS["lab_results"]
LABS = _WORDS["labs"]
STABILITY = _WORDS["stability"]
PLANS = _WORDS["plans"]
ALLERGIES = _WORDS["allergies"]
DIETS = _WORDS["diets"]
EXAMS = _WORDS["exams"]
SOCIAL = _WORDS["social"]
HOBBIES = _WORDS["hobbies"]
TEMPLATES = _WORDS["templates"]
PLAIN_TEMPLATES = _WORDS["plain_templates"]

_SLOT = re.compile(r"\{([A-Za-z][A-Za-z0-9_:]*)(?:\|(\w+))?\}")

_MONTHS = list(calendar.month_name)[1:]
_DAYS = list(calendar.day_name)


# ---------------------------------------------------------------- PHI surface forms
def _ascii(s):
    "Lower-case ASCII letters of `s` (for usernames and email addresses)."
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", s.lower())


def _digits(r, n):
    "`n` random decimal digits."
    return "".join(r.choice("0123456789") for _ in range(n))


def _person(r, style):
    "A person's name; `style` is first, last, full, lastfirst or initials (None: mixed)."
    first, last, mid = r.choice(FIRST), r.choice(LAST), r.choice("ABCDEFGHJKLMNPRSTW")
    style = style or r.choice(["full", "full", "full", "last", "middle", "initial"])
    forms = {"first": first, "last": last, "full": f"{first} {last}",
             "middle": f"{first} {mid}. {last}", "initial": f"{first[0]}. {last}",
             "lastfirst": f"{last}, {first}", "initials": f"{first[0]}{mid}{last[0]}".upper()}
    return forms[style]


def _username(r, style=None):
    "A login name such as `jrk42` or `mokafor`."
    first, last = _ascii(r.choice(FIRST)) or "x", _ascii(r.choice(LAST)) or "y"
    forms = [first[0] + last[:7], first[0] + r.choice("abcdeghkmprst") + last[0] + _digits(r, 2),
             last[:5] + _digits(r, r.randint(1, 3)), first[:3] + last[:3], first[0] + last[0] + _digits(r, 3)]
    return r.choice(forms)


def _ordinal(d):
    "1 -> '1st', 22 -> '22nd', 13 -> '13th'."
    suf = "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f"{d}{suf}"


def _date(r, style):
    "A surrogate date in an odd year; `style` is full, short, year, month or day (None: mixed)."
    y, m = r.randrange(2071, 2110, 2), r.randint(1, 12)
    d = r.randint(1, calendar.monthrange(y, m)[1])
    mn = _MONTHS[m - 1]
    forms = {
        "full": [f"{m}/{d}/{y}", f"{m:02d}/{d:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{mn} {d}, {y}",
                 f"{mn[:3]} {d}, {y}", f"{d} {mn} {y}", f"{m:02d}/{d:02d}/{y % 100:02d}",
                 f"{m}/{d}/{y % 100:02d}", f"{d}-{mn[:3]}-{y}"],
        "short": [f"{mn[:3]} {d}", f"{mn} {d}", f"{m}/{d}", f"{mn} {_ordinal(d)}", f"{m:02d}/{d:02d}"],
        "year": [str(y)],
        "month": [f"{mn} {y}", f"{m:02d}/{y}", f"{mn[:3]} {y}"],
        "day": _DAYS,
    }
    if style == "month": return r.choice(forms["month"] + [mn])  # a bare month reads well only where asked for
    if style is None: style = r.choices(["full", "short", "month"], weights=[7, 2, 1])[0]
    return r.choice(forms[style])


def _age(r, style=None):
    "An adult age, now and then over 89; `style='any'` also allows children."
    kids = 1 if style == "any" else 0
    return str(r.choices([r.randint(19, 89), r.randint(1, 18), r.randint(90, 104)], weights=[8, kids, 1])[0])


def _place(r):
    "An invented town name such as `Ashford` or `Glenbrook Falls`."
    name = r.choice(PLACE_HEAD) + r.choice(PLACE_TAIL)
    return f"{name} {r.choice(PLACE_EXTRA)}" if r.random() < 0.2 else name


def _hospital(r, style=None):
    "An invented hospital, e.g. `Fernbury General Hospital` or `St. Osmund Medical Center`."
    head = r.choice([_place(r), _place(r), r.choice(SAINTS), r.choice(LAST)])
    return f"{head} {r.choice(HOSPITAL_KINDS)}"


def _street(r, style):
    "A street address (`style='name'`: the street name without a number)."
    name = f"{r.choice(STREET_WORDS)} {r.choice(STREET_KINDS)}"
    if r.random() < 0.2: name = f"{r.choice(['North', 'South', 'East', 'West', 'Old'])} {name}"
    return name if style == "name" else f"{r.randint(1, 9999)} {name}"


def _state(r, style):
    "A US state, full name or postal abbreviation."
    full = r.choice(list(STATES))
    style = style or r.choice(["full", "abbr"])
    return STATES[full] if style == "abbr" else full


def _zip(r, style=None):
    "A five-digit or ZIP+4 code."
    return _digits(r, 5) + (f"-{_digits(r, 4)}" if r.random() < 0.2 else "")


def _organization(r, style=None):
    "An invented employer or company."
    return f"{r.choice([r.choice(LAST), _place(r)])} {r.choice(ORG_KINDS)}"


def _mrn(r, style=None):
    "A medical record number in one of several layouts."
    forms = [_digits(r, 7), _digits(r, 8), f"{_digits(r, 3)}-{_digits(r, 2)}-{_digits(r, 3)}",
             f"{_digits(r, 2)}-{_digits(r, 3)}-{_digits(r, 2)}", "0" + _digits(r, 6)]
    return r.choice(forms)


def _idnum(r, style=None):
    "Another identifier: account, accession, serial or member number."
    up = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    forms = [r.choice(up) + _digits(r, 7), f"{_digits(r, 5)}-{_digits(r, 4)}", _digits(r, 10),
             f"{r.choice(up)}{r.choice(up)}-{_digits(r, 5)}", f"{r.choice(up)}{_digits(r, 2)}-{_digits(r, 6)}"]
    return r.choice(forms)


def _phone(r, style):
    "A phone or fax number in one of several layouts (`style='pager'`: a short pager number)."
    if style == "pager": return _digits(r, 5)
    a, e, n = r.randint(201, 989), r.randint(200, 999), _digits(r, 4)
    forms = [f"({a}) {e}-{n}", f"{a}-{e}-{n}", f"{a}.{e}.{n}", f"{e}-{n}", f"{a} {e} {n}", f"1-{a}-{e}-{n}"]
    return r.choice(forms)


def _email(r, style=None):
    "An email address at an invented or reserved domain."
    first, last = _ascii(r.choice(FIRST)) or "x", _ascii(r.choice(LAST)) or "y"
    local = r.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}{_digits(r, 2)}", f"{last}{first[0]}"])
    domain = r.choice(EMAIL_DOMAINS + [f"{_ascii(_place(r))}health.org"])
    return f"{local}@{domain}"


# PHI type -> generator(rng, style): surrogates for `make_pairs`, and for anyone who needs one (`fake`)
GENERATORS = {
    "NAME:PATIENT": _person, "NAME:DOCTOR": _person, "NAME:USERNAME": _username,
    "DATE": _date, "AGE": _age, "LOCATION:HOSPITAL": _hospital, "LOCATION:CITY": lambda r, s: _place(r),
    "LOCATION:STATE": _state, "LOCATION:STREET": _street, "LOCATION:ZIP": _zip,
    "LOCATION:COUNTRY": lambda r, s: r.choice(COUNTRIES), "LOCATION:ORGANIZATION": _organization,
    "ID:MEDICALRECORD": _mrn, "ID:IDNUM": _idnum, "CONTACT:PHONE": _phone, "CONTACT:FAX": _phone,
    "CONTACT:EMAIL": _email, "PROFESSION": lambda r, s: r.choice(PROFESSIONS),
}


def fake(kind: str, rng: random.Random, style: Optional[str] = None) -> str:
    """A surrogate value of PHI type `kind` (one of `PHI_TYPES`, e.g. "NAME:PATIENT" or "DATE"),
    drawn with `rng`; `style` picks a surface form where the generator has several (e.g. "last")."""
    if kind not in GENERATORS: raise KeyError(f"no generator for {kind!r}; known types: {', '.join(GENERATORS)}")
    return GENERATORS[kind](rng, style)


# the generator of each i2b2 category, for types outside PHI_TYPES (e.g. NAME:OTHER, ID:SSN)
_PHI_CATEGORY = {"NAME": _person, "LOCATION": lambda r, s: _place(r), "ID": _idnum, "CONTACT": _phone,
                 "DATE": _date, "AGE": _age, "PROFESSION": lambda r, s: r.choice(PROFESSIONS)}


def phi_value(kind: str, r: random.Random, style: Optional[str] = None) -> Optional[str]:
    """Like `fake`, for any tag: types outside PHI_TYPES use their category's generator
    (`NAME:OTHER` -> a name), a style the generator does not know falls back to its mix, and an
    unknown category gives None."""
    gen = GENERATORS.get(kind) or _PHI_CATEGORY.get(kind.split(":")[0])
    if gen is None: return None
    try: return gen(r, style)
    except KeyError:  # a style this generator does not know
        return gen(r, None)


# ---------------------------------------------------------------- untagged filler
_FILL = {
    "sex": SEX, "relation": RELATIONS, "condition": CONDITIONS, "symptom": SYMPTOMS, "drug": DRUGS,
    "route": ROUTES, "freq": FREQS, "duration": DURATIONS, "test": TESTS,
    "finding": FINDINGS, "procedure": PROCEDURES, "specialty": SPECIALTIES, "labres": LAB_RESULTS,
    "lab": LABS, "stability": STABILITY, "plan": PLANS, "allergy": ALLERGIES, "diet": DIETS,
    "exam": EXAMS, "social": SOCIAL, "hobby": HOBBIES, "title": ["Mr.", "Ms.", "Mrs."],
    "code": ["full code", "DNR/DNI", "DNR, okay to intubate", "comfort measures only"],
}
_NUM = {  # (low, high, decimals) for numeric filler
    "hr": (52, 128, 0), "rr": (12, 28, 0), "spo2": (88, 100, 0), "temp": (96.8, 101.9, 1),
    "a1c": (5.2, 11.8, 1), "minutes": (3, 15, 0), "pt_times": (2, 5, 0), "glucose": (64, 348, 0),
    "weight": (48, 131, 1), "wdelta": (0.5, 6.0, 1),
}


def _filler(r, key, ctx):
    "Untagged text for slot `key`; a capitalised key capitalises the text; `ctx` keeps the last drug."
    k = key.lower()
    if k == "dose": s = r.choice(DRUG_DOSES[ctx.get("drug", "aspirin")])
    elif k == "bp": s = f"{r.randint(92, 188)}/{r.randint(52, 104)}"
    elif k in _NUM:
        lo, hi, dp = _NUM[k]
        s = str(r.randint(lo, hi)) if dp == 0 else f"{r.uniform(lo, hi):.{dp}f}"
    else: s = r.choice(_FILL[k])
    ctx[k] = s
    return s[0].upper() + s[1:] if key[0].isupper() else s


# ---------------------------------------------------------------- sentences
def _needs_an(word):
    "Whether `word` takes 'an' rather than 'a' (vowel sound, or 8, 11, 18, 80-89)."
    if word[:1].isdigit():
        n = re.match(r"\d+", word).group()
        return n.startswith("8") and len(n) in (1, 2) or n in ("11", "18")
    w = word.lower()
    return w[:1] in "aeiou" and not w.startswith(("uni", "uri", "use", "usu", "eu", "one"))


def _render(r, template):
    "Fill `template` into a list of (text, tag) pieces; tag is None for untagged text."
    pieces, pos, ctx = [], 0, {}
    for m in _SLOT.finditer(template):
        key, style = m.groups()
        lit = template[pos:m.start()]
        val = GENERATORS[key](r, style) if key.isupper() else _filler(r, key, ctx)
        # grammatical article before a generated word: "a 80-year-old" -> "an 80-year-old"
        if re.search(r"(^|\s)[aA] $", lit) and _needs_an(val): lit = lit[:-1] + "n "
        pieces += [(lit, None), (val, key if key.isupper() else None)]
        pos = m.end()
    return pieces + [(template[pos:], None)]


def _pair_texts(pieces):
    "(orig_text, annotated_text) from pieces; the annotation only adds markers."
    orig = "".join(t for t, _ in pieces)
    ann = "".join(open_marker(tag) + t + close_marker(tag) if tag else t for t, tag in pieces)
    return orig, ann


def make_pairs(n: int = 3000, seed: int = 0, plain_share: float = 0.25) -> list[tuple[str, str]]:
    """Generate `n` distinct synthetic (orig_text, annotated_text) pairs.

    `seed` fixes the output (same seed, same list); about `plain_share` of the rows
    carry no PHI. Raises ValueError if `n` distinct rows cannot be found.
    """
    r, seen, pairs = random.Random(seed), set(), []
    for _ in range(n):
        templates = PLAIN_TEMPLATES if r.random() < plain_share else TEMPLATES
        for _try in range(200):  # a few plain templates have little variety: retry within the kind
            pair = _pair_texts(_render(r, r.choice(templates)))
            if pair not in seen: break
        else: raise ValueError(f"could not find {n} distinct rows (got {len(pairs)})")
        seen.add(pair)
        pairs.append(pair)
    return pairs


def write_csv(pairs, path) -> Path:
    """Write `pairs` to `path` as UTF-8 CSV with header `orig_text,annotated_text`, atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda tmp: _write_rows(pairs, tmp))


def _write_rows(pairs, path: Path):
    "The CSV itself (`write_csv` puts it in place atomically)."
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["orig_text", "annotated_text"])
        w.writerows(pairs)


def span_counts(pairs) -> Counter:
    "Number of tagged spans per type over the annotated side of `pairs`."
    return Counter(t for _, ann in pairs for t in tag_types(ann))
