"""seq2seq/deid/redact.py: mask, type placeholders, surrogates (consistent, seeded), date shifting."""
import datetime as dt
import re
from pathlib import Path

import pytest

from seq2seq.deid.redact import RedactConfig, Surrogates, redact, shift_date
from seq2seq.errors import UserError
from seq2seq.text.tags import Span

NOTES = Path(__file__).resolve().parents[1] / "fixtures" / "notes"
# the PHI of the fixture notes, by hand: (file, string, type); a string may occur several times
PHI = [("note1", "Amara Okonkwo", "NAME:PATIENT"), ("note1", "4417302", "ID:MEDICALRECORD"),
       ("note1", "Ashford General Hospital", "LOCATION:HOSPITAL"), ("note1", "3/4/2091", "DATE"),
       ("note1", "Lindqvist", "NAME:DOCTOR"), ("note1", "3/6/2091", "DATE"), ("note1", "(617) 555-0199", "CONTACT:PHONE"),
       ("note2", "Moreau", "NAME:PATIENT"), ("note2", "teacher", "PROFESSION"),
       ("note2", "Kowalczyk Logistics", "LOCATION:ORGANIZATION"), ("note2", "March 12, 2091", "DATE"),
       ("note3", "Farid Haddad", "NAME:DOCTOR"), ("note3", "Glenbrook Medical Center", "LOCATION:HOSPITAL"),
       ("note3", "farid.haddad@example.com", "CONTACT:EMAIL"), ("note3", "12 Juniper Lane", "LOCATION:STREET"),
       ("note3", "Ashford", "LOCATION:CITY"), ("note3", "MA", "LOCATION:STATE"), ("note3", "01234", "LOCATION:ZIP")]


def _doc(name: str):
    "Text and PHI spans of a fixture note (every occurrence of each listed string, first match wins)."
    text = (NOTES / f"{name}.txt").read_bytes().decode("utf-8")
    spans, taken = [], set()
    for doc, s, t in PHI:
        if doc != name: continue
        for m in re.finditer(re.escape(s), text):
            if not taken & set(range(m.start(), m.end())):
                spans.append(Span(m.start(), m.end(), t))
                taken |= set(range(m.start(), m.end()))
    return text, sorted(spans)


@pytest.mark.parametrize("name", ["note1", "note2", "note3"])
def test_mask_keeps_length_offsets_and_lines(name):
    text, spans = _doc(name)
    out = redact(text, spans, RedactConfig("mask", mask_char="#"))
    assert len(out) == len(text) and out.count("\n") == text.count("\n")
    for s in spans: assert set(out[s.start:s.end]) <= {"#", "\r", "\n"}
    keep = set(range(len(text))) - {i for s in spans for i in range(s.start, s.end)}
    assert all(out[i] == text[i] for i in keep)


def test_type_placeholders():
    text, spans = _doc("note1")
    out = redact(text, spans, RedactConfig("type"))
    assert "Seen by Dr. [NAME:DOCTOR] on [DATE]." in out and "Patient [NAME:PATIENT] (MRN [ID:MEDICALRECORD])" in out


@pytest.mark.parametrize("mode", ["mask", "type", "surrogate"])
def test_no_original_phi_survives(mode):
    for name in ("note1", "note2", "note3"):
        text, spans = _doc(name)
        out = redact(text, spans, RedactConfig(mode, seed=3), name)
        for doc, s, _ in PHI:
            if doc == name and len(s) > 2: assert s not in out, (mode, s)
        assert out.count("\n") == text.count("\n")


def test_surrogates_are_consistent_within_a_document_and_seeded():
    text = "Seen by Dr. Smith on 3/4/2091. Dr. Smith called back on 3/9/2091 about Jones."
    spans = [Span(m.start(), m.end(), t) for t, rx in [("NAME:DOCTOR", "Smith"), ("DATE", r"3/\d/2091"),
                                                       ("NAME:PATIENT", "Jones")] for m in re.finditer(rx, text)]
    outs = [redact(text, spans, RedactConfig("surrogate", seed=s), "doc") for s in (1, 1, 2)]
    assert outs[0] == outs[1] and outs[0] != outs[2]
    m = re.fullmatch(r"Seen by Dr\. (.+) on (\S+)\. Dr\. (.+) called back on (\S+) about (.+)\.", outs[0])
    assert m and m[1] == m[3] and m[1] != "Smith" and m[5] != "Jones"
    d1, d2 = (dt.datetime.strptime(m[i], "%m/%d/%Y") for i in (2, 4))
    assert (d2 - d1).days == 5          # one shift per document: the interval survives
    assert redact(text, spans, RedactConfig("surrogate", seed=1), "other doc") != outs[0]


@pytest.mark.parametrize("date, fmt", [
    ("3/4/2091", "%m/%d/%Y"), ("03/04/2091", "%m/%d/%Y"), ("2091-03-04", "%Y-%m-%d"), ("March 4, 2091", "%B %d, %Y"),
    ("Mar 4, 2091", "%b %d, %Y"), ("4 March 2091", "%d %B %Y"), ("04/03/91", "%m/%d/%y"), ("4-Mar-2091", "%d-%b-%Y")])
@pytest.mark.parametrize("days", [1, 47, -300])
def test_full_dates_move_by_the_offset_in_their_format(date, fmt, days):
    new = shift_date(date, days)
    assert (dt.datetime.strptime(new, fmt) - dt.datetime.strptime(date, fmt)).days == days
    assert (new[0] == "0") == (date[0] == "0")                   # zero padding kept


@pytest.mark.parametrize("date, days, want", [
    ("March 4th", 47, "April 20th"), ("3/4", -3, "3/1"), ("March 2091", 60, "May 2091"), ("03/2091", -10, "02/2091"),
    ("2091", 100, "2092"), ("2091", -400, "2090"), ("Tuesday", -300, "Wednesday"), ("MAR", 31, "APR"),
    ("2/30/2091", 5, None), ("dob", 5, None)])
def test_partial_dates(date, days, want):
    assert shift_date(date, days) == want


def test_surrogate_types_without_a_generator_become_placeholders():
    s = Surrogates("d", 0)
    assert s.value("WEIRD", "x") == "[WEIRD]" and s.value("NAME:OTHER", "Bob") not in ("Bob", "[NAME:OTHER]")


@pytest.mark.parametrize("kw", [dict(mode="blur"), dict(mode="mask", mask_char="ab"), dict(mode="mask", mask_char="\n")])
def test_bad_config(kw):
    with pytest.raises(UserError):
        RedactConfig(**kw)
