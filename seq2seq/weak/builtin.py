"""Built-in labelling functions for clinical PHI in Spanish and English, gazetteers, and a model as a function.

Families: `regex` (the shape of the value alone: dates, times, phones, e-mails, URLs, IP addresses,
postal codes, ID-like tokens, ages, street names), `context` (a cue word before the value: "Dr.",
"Nombre:", "NHC:", "varón de 64 años", ...), `gazetteer` (exact matches of entries read from plain
files) and `model` (a trained seq2seq model's spans). Types are i2b2-2014 style (NAME:PATIENT,
DATE, LOCATION:CITY, ID:MEDICALRECORD, CONTACT:PHONE, AGE, ...). The generic ID functions, which
see an identifier but not its kind, emit plain `ID`; the label model reads it as a vote for any
`ID:*` subtype (see `label_model.split_labels`), so a cue-based function settles the subtype.

Written from general knowledge of Spanish clinical reports and of MEDDOCAN's training split;
never tuned on a development set.
"""
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, List, Optional, Sequence

import pandas as pd

from ..errors import UserError
from ..resources import resource
from ..text.tags import parse
from .functions import LabellingFunction, labelling_function

__all__ = ["regex_lf", "builtin_lfs", "FAMILIES", "read_gazetteer", "gazetteer_lf", "default_gazetteer_lfs",
           "gazetteers_from_csv", "model_lf", "GAZETTEER_DIR"]

GAZETTEER_DIR = resource("gazetteers")  # the built-in lists (package data)

_U, _L = "A-ZÁÉÍÓÚÑÜ", "a-záéíóúñüç"
_STOP = (r"(?:Servicio|Unidad|Hospital|Centro|Departamento|Sección|Calle|Avda|Fecha|Tel|Teléfono|Fax|E-mail|Email"
         r"|Correo|NºCol|Nº|Dra?|Doctora?)\b")  # words that end a name: the next field or department
_CAP = rf"(?!{_STOP})[{_U}](?:[^\W\d_]|['-])+"            # a capitalised word, not a field or department name
_PART = r"(?:de|del|la|las|los|el|y|van|von|da|di|San|Santa)"  # particles inside names and places
_NAME = rf"(?:Mª[ \t]*)?{_CAP}(?:[ \t]+(?:{_PART}[ \t]+)*{_CAP}){{0,4}}"  # up to five capitalised words
_ID = r"[A-Z]{0,3}\d[\dA-Z]*(?:[ /-]\d[\dA-Z]*)*"          # digits, maybe letters, single separators
_MONTHS = ("enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|"
           "january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_AGE = r"\d{1,3}(?:[ \t]*(?:años|meses|días|semanas))?"


def regex_lf(name: str, pattern: str, type: str, family: str = "regex", flags: int = 0) -> LabellingFunction:
    """A function tagging every match of `pattern` as `type`: the named group `x` when the
    pattern has one (the cue around it is left out), else the whole match."""
    rx = re.compile(pattern, flags)

    def fn(text):
        for m in rx.finditer(text):
            s, e = m.span("x") if "x" in rx.groupindex else m.span()
            if e > s: yield s, e, type
    return LabellingFunction(name, fn, family)


_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:[6-9]\d{2}[ .-]?\d{3}[ .-]?\d{3}|[6-9]\d{2}(?:[ .-]\d{2}){3}"
                    r"|\(\d{3}\)[ ]?\d{3}-\d{4}|\d{3}([.-])\d{3}\1\d{4})(?!\w|[.-]\d)")


def _phone_or_fax(text):
    "Phone numbers (Spanish 9 digits, international, US); CONTACT:FAX when 'fax' is written just before."
    for m in _PHONE.finditer(text):
        cue = text[max(0, m.start() - 20):m.start()].lower()
        yield m.start(), m.end(), "CONTACT:FAX" if "fax" in cue else "CONTACT:PHONE"


_REGEX = [
    ("date_numeric", r"(?<![\d/.-])(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}-\d{2}-\d{2})(?![\d/-])", "DATE", 0),
    ("date_words", rf"\b(?:\d{{1,2}}\s+de\s+(?:{_MONTHS})(?:\s+(?:de|del)\s+\d{{4}})?|(?:{_MONTHS})\s+(?:de|del)\s+\d{{4}}"
                   rf"|(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}\s+(?:{_MONTHS})\s+\d{{4}})\b",
     "DATE", re.I),
    ("year_after_cue", r"\b(?:en|desde|hasta|año|in|since|until)\s+(?P<x>(?:19|20)\d{2})\b", "DATE", 0),
    ("time", r"\b(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?:\s*(?:h|am|pm|a\.m\.|p\.m\.)(?!\w))?", "DATE", 0),
    ("email", r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", "CONTACT:EMAIL", 0),
    ("url", r"\b(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)]", "CONTACT:URL", 0),
    ("ip_address", r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b", "CONTACT:IPADDR", 0),
    ("zip_before_city", rf"\b(?:0[1-9]|[1-4]\d|5[0-2])\d{{3}}\b(?=[ \t]+[{_U}])", "LOCATION:ZIP", 0),
    ("zip_us", r"(?<=\b[A-Z]{2} )\d{5}(?:-\d{4})?\b", "LOCATION:ZIP", 0),
    ("id_mixed", r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9][A-Z0-9-]{5,}\b|\b\d{8}-?[A-Z]\b", "ID", 0),
    ("id_long_number", r"(?<![\d/.,-])(?<!\d )\d{7,}(?![\d/,-]|\.\d)(?! \d)", "ID", 0),
    ("age_years", r"\b\d{1,3}[ \t]+años\b|\b\d{1,3}(?=[- ]years?[- ]old\b)", "AGE", 0),
    ("street_es", rf"(?:C/|\b(?:Calle|Avda\.|Avenida|Av\.|Plaza|Pza\.|Paseo|Camino|Carretera|Ctra\.|Ronda|Travesía|Rambla))"
                  rf"[ \t]*(?:{_PART}[ \t]+)*{_CAP}\.?(?:[ \t]+(?:{_PART}[ \t]+)*{_CAP}\.?)*"
                  r"(?:,?[ \t]*(?:nº[ \t]*)?(?:\d+(?:-\d+)?[A-Za-z]?\b|s/n))?(?:,?[ \t]*\d+º?(?:[ \t]*,?[ \t]*[A-Z]\b)?){0,3}",
     "LOCATION:STREET", 0),
    ("street_en", rf"\b\d{{1,5}}[ \t]+{_CAP}(?:[ \t]+{_CAP})*[ \t]+(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Drive|Lane|Boulevard"
                  r"|Blvd\.?|Way|Court)(?!\w)", "LOCATION:STREET", 0),
]

_FIELD = r"(?m)^[ \t]*"  # a header field at the start of a line
_CONTEXT = [
    ("doctor_title", rf"\b(?:Dr|Dra|Drs)\.?[ \t]+(?P<x>{_NAME})|\b(?:Doctora?)[ \t]+(?P<y>{_NAME})", "NAME:DOCTOR"),
    ("doctor_field", rf"(?:Médico|Remitido por|Responsable clínico|Firmado por|Attending|Physician)[ \t]*:[ \t]*"
                     rf"(?:(?:Dr|Dra)\.?[ \t]+)?(?P<x>{_NAME})",
     "NAME:DOCTOR"),
    ("patient_field", rf"{_FIELD}(?:Nombre|Apellidos|Paciente|Patient|Name)[ \t]*:[ \t]*(?P<x>{_NAME})", "NAME:PATIENT"),
    ("patient_title", rf"\b(?:Mr|Mrs|Ms|Sr|Sra)\.[ \t]+(?P<x>{_NAME})", "NAME:PATIENT"),
    ("city_field", rf"{_FIELD}(?:Localidad(?:[ \t]*/[ \t]*Provincia)?|Ciudad|Municipio|Provincia|City)[ \t]*:[ \t]*(?P<x>{_NAME})",
     "LOCATION:CITY"),
    ("country_field", rf"{_FIELD}(?:País(?: de nacimiento)?|Nacionalidad|Country)[ \t]*:[ \t]*(?P<x>{_NAME})", "LOCATION:COUNTRY"),
    ("address_field", r"(?m)^[ \t]*(?:Domicilio|Dirección|Address)[ \t]*:[ \t]*(?P<x>[^\n]*?[^\s.])[ \t]*\.?[ \t]*$",
     "LOCATION:STREET"),
    ("zip_field", r"\b(?:CP|C\.P\.|[Cc]ódigo [Pp]ostal|ZIP)[ \t]*:?[ \t]*(?P<x>\d{5})\b", "LOCATION:ZIP"),
    ("medical_record", rf"\b(?:NHC|N\.H\.C\.|[Hh]istoria [Cc]línica|MRN)[ \t]*:?[ \t]*(?P<x>{_ID})", "ID:MEDICALRECORD"),
    ("health_plan", rf"\b(?:NASS|N\.A\.S\.S\.|Nº[ \t]*SS|CIP|[Tt]arjeta [Ss]anitaria)[ \t]*:?[ \t]*(?P<x>{_ID})", "ID:HEALTHPLAN"),
    ("license", rf"\b(?:N[º°o]\.?[ \t]*Col(?:egiado)?\.?|[Cc]olegiado(?:[ \t]+n[º°])?)[ \t]*:?[ \t]*(?P<x>{_ID})", "ID:LICENSE"),
    ("id_field", rf"\b(?:Episodio|DNI|NIF|NIE|Pasaporte|SSN)[ \t]*:?[ \t]*(?P<x>{_ID})", "ID:IDNUM"),
    ("age_context", rf"\b(?:[Vv]arón|[Mm]ujer|[Hh]ombre|[Pp]aciente|[Nn]iñ[oa]|[Ll]actante|[Aa]dolescente|[Jj]oven|[Ss]eñora?)"
                    rf"(?:[ \t]+[{_L}]+)?[ \t]+de[ \t]+(?P<x>{_AGE})\b|\bEdad[ \t]*:[ \t]*(?P<y>{_AGE})\b"
                    r"|\baged[ \t]+(?P<z>\d{1,3})\b|\bAge[ \t]*:[ \t]*(?P<w>\d{1,3})\b", "AGE"),
    ("hospital", rf"\b(?:Hospital|Complejo Hospitalario|Clínica|Centro de Salud|Centro Médico|Policlínica|Sanatorio)"
                 rf"(?:[ \t]+(?:Universitario|General|Clínico|Comarcal|Provincial))*(?:[ \t]+(?:{_PART}[ \t]+)*{_CAP})+",
     "LOCATION:HOSPITAL"),
]


def _context_lf(name: str, pattern: str, type: str) -> LabellingFunction:
    "Like `regex_lf`, but the value is whichever named group matched (the cue is left out)."
    rx = re.compile(pattern)

    def fn(text):
        for m in rx.finditer(text):
            g = next((k for k in rx.groupindex if m.group(k) is not None), None)
            s, e = m.span(g) if g else m.span()
            if e > s: yield s, e, type
    return LabellingFunction(name, fn, "context")


def _regex_lfs() -> List[LabellingFunction]:
    "The `regex` family (phones through a function: the type depends on the cue)."
    lfs = [regex_lf(n, p, t, flags=f) for n, p, t, f in _REGEX]
    return lfs + [labelling_function("phone", family="regex")(_phone_or_fax)]


FAMILIES = ("regex", "context", "gazetteer")


def builtin_lfs(families: Sequence[str] = FAMILIES, gazetteer_dir=GAZETTEER_DIR) -> List[LabellingFunction]:
    """The built-in functions of the given families; the `gazetteer` family reads every list in
    `gazetteer_dir` (see `read_gazetteer`)."""
    bad = set(families) - set(FAMILIES)
    if bad: raise UserError(f"unknown labelling-function families {sorted(bad)}; choose from {', '.join(FAMILIES)}")
    res = []
    if "regex" in families: res += _regex_lfs()
    if "context" in families: res += [_context_lf(*c) for c in _CONTEXT]
    if "gazetteer" in families: res += default_gazetteer_lfs(gazetteer_dir)
    return res


def read_gazetteer(path, type: Optional[str] = None) -> tuple:
    """`(type, entries)` from a plain UTF-8 file, one entry a line; blank lines and lines starting
    with `#` are skipped, except a first line `# type: TYPE`, which gives the type when `type` is
    None. UserError names the file when it is missing or has no type."""
    path = Path(path)
    if not path.is_file(): raise UserError(f"gazetteer {path}: no such file")
    lines = path.read_text(encoding="utf-8").splitlines()
    m = re.match(r"#\s*type:\s*(\S+)", lines[0]) if lines else None
    type = type or (m.group(1) if m else None)
    if type is None: raise UserError(f"gazetteer {path}: no type (give TYPE=FILE, or a first line '# type: TYPE')")
    return type, [l.strip() for l in lines if l.strip() and not l.lstrip().startswith("#")]


_GAZ_TOKEN = re.compile(r"\w+|[^\w\s]")  # a run of word characters, or one punctuation mark


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def gazetteer_lf(name: str, entries: Iterable[str], type: str, family: str = "gazetteer",
                 min_len: int = 3, log=None) -> LabellingFunction:
    """Tag exact, case-sensitive, whole-word occurrences of `entries` as `type`; where entries
    overlap, the longest one starting first wins. An entry may start or end with punctuation
    (`c++`, `Valencia (España)`, `.NET`): it matches from token to token (a token is a run of word
    characters or one punctuation mark) with no word character right before or after it. Entries
    shorter than `min_len` characters are never matched; `log` (when given) names them."""
    entries = {e.strip() for e in entries}
    short = sorted(e for e in entries if 0 < len(e) < min_len)
    entries = {e for e in entries if len(e) >= min_len}
    if short and log:
        shown = ", ".join(map(repr, short[:5])) + (f" and {len(short) - 5} more" if len(short) > 5 else "")
        log(f"warning: gazetteer {name}: {len(short)} entries shorter than {min_len} characters are never matched ({shown})")
    max_toks = max((len(_GAZ_TOKEN.findall(e)) for e in entries), default=0)

    def fn(text):
        toks = [m.span() for m in _GAZ_TOKEN.finditer(text)]
        i = 0
        while i < len(toks):
            for n in range(min(max_toks, len(toks) - i), 0, -1):
                s, e = toks[i][0], toks[i + n - 1][1]
                if text[s:e] in entries and not (s > 0 and _word_char(text[s - 1])) \
                        and not (e < len(text) and _word_char(text[e])):
                    yield s, e, type
                    i += n - 1
                    break
            i += 1
    return LabellingFunction(name, fn, family)


def default_gazetteer_lfs(folder=GAZETTEER_DIR) -> List[LabellingFunction]:
    "One `gazetteer_lf` per `*.txt` list in `folder` (each with a `# type:` first line), named after the file."
    return [gazetteer_lf(f"gaz_{p.stem}", *reversed(read_gazetteer(p))) for p in sorted(Path(folder).glob("*.txt"))]


def gazetteers_from_csv(csv, out_dir, column: str = "annotated_text", min_count: int = 1) -> dict:
    """Write one gazetteer per tag type from the spans of an annotated CSV's `column`, each to
    `out_dir/TYPE.txt` (`:` written as `_`) with a `# type: TYPE` first line, entries sorted by
    frequency. Returns {type: (path, number of entries)}."""
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    if column not in df.columns: raise UserError(f"{csv}: no column {column!r} (columns: {', '.join(df.columns)})")
    counts = {}
    for i, a in enumerate(df[column], 1):
        if not a: continue
        plain, spans = parse(a)
        for sp in spans: counts.setdefault(sp.type, Counter())[plain[sp.start:sp.end].strip()] += 1
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    res = {}
    for t, c in sorted(counts.items()):
        keep = [e for e, k in c.most_common() if k >= min_count and e and "\n" not in e]
        path = out_dir / f"{t.replace(':', '_')}.txt"
        path.write_text(f"# type: {t}\n" + "".join(e + "\n" for e in keep), encoding="utf-8")
        res[t] = (path, len(keep))
    return res


def model_lf(path, name: str = "model", decoder: str = "greedy", bs: int = 64, **decode) -> LabellingFunction:
    """A trained seq2seq model (its model.safetensors) as a labelling function: its faithful decodes of a
    batch of texts, read back as spans. Extra keywords go to `learn.restore`."""
    from ..training.learner import load_seq2seq
    learn = load_seq2seq(path, device="cpu")

    def fn(texts):
        todo = [i for i, t in enumerate(texts) if t]  # empty texts get no spans and are not decoded
        res = [[] for _ in texts]
        for s in range(0, len(todo), bs):
            idx = todo[s:s + bs]
            for i, o in zip(idx, learn.restore([texts[i] for i in idx], decoder=decoder, **decode)): res[i] = parse(o)[1]
        return res
    return LabellingFunction(name, fn, "model", batched=True)
