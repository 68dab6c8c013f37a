"""seq2seq/deid/redact.py: the operators (mask, type, surrogate, hash, encrypt, keep) and their policy; on the
fixture notes, on any text (property tests) and on every MEDDOCAN dev note (gold spans as the predictions)."""
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seq2seq.deid.crypto import decrypt_text
from seq2seq.deid.dates import read_date
from seq2seq.deid.ids import shape_of
from seq2seq.deid.keys import Key
from seq2seq.deid.locales import fold, locale
from seq2seq.deid.policy import Policy
from seq2seq.deid.redact import RedactConfig, Surrogates, redact, redact_spans, shift_date
from seq2seq.deid.repeats import repeatable, with_repeats
from seq2seq.errors import UserError
from seq2seq.text.tags import ScoredSpan, Span

ROOT = Path(__file__).resolve().parents[2]
KEY = Key(b"0123456789abcdef0123456789abcdef", "test.key")

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


@pytest.mark.parametrize("kw", [dict(mode="blur"), dict(mode="mask", mask_char="ab"), dict(mode="mask", mask_char="\n"),
                                dict(mode="surrogate", lang="xx"), dict(mode="hash"), dict(mode="encrypt"),
                                dict(policy=Policy({"NAME": "hash"})), dict(key_file="/nonexistent.key")])
def test_bad_config(kw):
    with pytest.raises(UserError):
        RedactConfig(**kw)


def test_hash_and_encrypt_need_a_key_and_name_the_flag():
    with pytest.raises(UserError, match=r"mode hash needs key_file"):
        RedactConfig("hash")


# ---------------------------------------------------------------- operators and policies

TEXT = "\ufeffPaciente Ana Ruiz, 46 años, ingresó el 3/4/2015 (NHC 5467980).\r\nAna Ruiz volvió el 9/4/2015."
SPANS = [Span(m.start(), m.end(), t) for t, rx in [("NAME:PATIENT", "Ana Ruiz"), ("AGE", "46 años"), ("DATE", r"\d/4/2015"),
                                                   ("ID:MEDICALRECORD", "5467980")] for m in re.finditer(rx, TEXT)]


@pytest.mark.parametrize("mode", ["mask", "type", "surrogate", "hash", "encrypt"])
def test_every_mode_keeps_the_bytes_outside_the_spans(mode):
    red = redact_spans(TEXT, SPANS, RedactConfig(mode, lang="es", key=KEY), "n")
    assert red.text.startswith("\ufeffPaciente ") and red.text.count("\r\n") == 1 and len(red.replacements) == len(SPANS)
    assert _outside(TEXT, SPANS, red.replacements) == red.text
    for s in ("Ana Ruiz", "5467980", "3/4/2015", "9/4/2015"): assert s not in red.text
    assert red.replacements[0] == red.replacements[-2]         # the same name, the same replacement


def test_a_policy_gives_each_type_its_operator():
    pol = Policy({"NAME": "encrypt", "DATE": "surrogate", "AGE": "keep"}, default="hash")
    red = redact_spans(TEXT, SPANS, RedactConfig(policy=pol, lang="es", key=KEY), "n")
    by_type = dict(zip(red.operators, (s.type for s in sorted(SPANS))))
    assert set(red.operators) == {"encrypt", "surrogate", "keep", "hash"} and by_type["keep"] == "AGE"
    assert "46 años" in red.text and "[ID:MEDICALRECORD:" in red.text and "[ENC:NAME:PATIENT:" in red.text
    assert "Ana Ruiz" in decrypt_text(KEY, red.text)[0]
    # --redact gives what the policy leaves out
    red = redact_spans(TEXT, SPANS, RedactConfig("type", policy=Policy({"NAME": "keep"})), "n")
    assert "Ana Ruiz" in red.text and "[DATE]" in red.text


def test_the_key_appears_nowhere():
    secret = b"very-secret-key-bytes-0123456789"
    cfg = RedactConfig("encrypt", key=Key(secret, "k"))
    outs = [redact(TEXT, SPANS, RedactConfig(m, key=Key(secret, "k")), "n") for m in ("hash", "encrypt", "surrogate")]
    assert all(secret.decode() not in x for x in outs + [repr(cfg), str(cfg)])


def _outside(text, spans, repl) -> str:
    "The text with each span (by start) replaced by its replacement: what the redacted copy must be."
    out, pos = [], 0
    for sp, r in zip(sorted(spans, key=lambda s: s.start), repl):
        out += [text[pos:sp.start], r]
        pos = sp.end
    return "".join(out + [text[pos:]])


@st.composite
def _text_and_spans(draw):
    "Any text (BOM, line breaks, braces, astral characters) and non-overlapping spans of it with i2b2 types."
    text = draw(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80))
    if draw(st.booleans()): text = "\ufeff" + text
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=8))))
    types = st.sampled_from(["NAME:PATIENT", "DATE", "ID:IDNUM", "LOCATION:CITY", "AGE", "CONTACT:PHONE", "PROFESSION"])
    spans = [Span(a, b, draw(types)) for a, b in zip(cuts[::2], cuts[1::2]) if a < b]
    return text, spans


@settings(max_examples=60, deadline=None)
@given(_text_and_spans(), st.sampled_from(["mask", "type", "surrogate", "hash", "encrypt"]))
def test_property_outside_the_spans_the_bytes_are_the_inputs(ts, mode):
    text, spans = ts
    if mode == "encrypt" and re.search(r"\[ENC:", text): return
    red = redact_spans(text, spans, RedactConfig(mode, lang="es", key=KEY), "n")
    assert red.text == _outside(text, spans, red.replacements)
    if mode == "mask": assert len(red.text) == len(text)
    if mode == "encrypt": assert decrypt_text(KEY, red.text)[0] == text


def test_hash_and_encrypt_are_the_same_in_another_process(tmp_path):
    (tmp_path / "k").write_bytes(b"0123456789abcdef0123456789abcdef")
    here = {m: redact(TEXT, SPANS, RedactConfig(m, key_file=str(tmp_path / "k"), lang="es"), "n")
            for m in ("hash", "encrypt", "surrogate")}
    code = ("import json, sys; from tests.deid.test_redact import TEXT, SPANS; from seq2seq.deid.redact import RedactConfig, "
            f"redact; print(json.dumps({{m: redact(TEXT, SPANS, RedactConfig(m, key_file={str(tmp_path / 'k')!r}, lang='es'), "
            "'other id') for m in ('hash', 'encrypt', 'surrogate')}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONHASHSEED="7", PYTHONPATH=str(ROOT)))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == here           # another process, another note id: with a key, the same output


# ---------------------------------------------------------------- every MEDDOCAN dev note

@pytest.fixture(scope="module")
def dev_notes():
    "(id, text, gold spans as predictions, with their repeats) of every MEDDOCAN dev note, i2b2 types."
    from seq2seq.formats.convert import _map_spans, load_mapping
    from seq2seq.formats.readers import read_brat
    root = ROOT.parent / "shared" / "corpora" / "meddocan" / "dev" / "brat"
    if not root.is_dir(): pytest.skip("../shared/corpora not present")
    mp, res = load_mapping("meddocan"), []
    for doc_id, text, spans in read_brat(root):
        spans, _, _ = _map_spans(text, spans, mp)
        res.append((doc_id, text, with_repeats(text, [ScoredSpan(s.start, s.end, s.type, 1.0) for s in spans])))
    return res


@pytest.mark.parametrize("mode", ["surrogate", "mask", "type", "hash", "encrypt"])
def test_dev_notes_no_predicted_or_repeated_phi_survives(corpora, dev_notes, mode):
    cfg = RedactConfig(mode, lang="es", key=KEY)
    assert len(dev_notes) == 250 and sum(s.origin == "repeat" for _, _, sp in dev_notes for s in sp) > 0
    for doc_id, text, spans in dev_notes:
        out = redact(text, spans, cfg, doc_id)
        for sp in spans:
            s = text[sp.start:sp.end]
            if not repeatable(s) or (mode == "surrogate" and sp.type == "AGE"): continue   # ages <= 89 are kept
            assert not re.search(rf"(?<!\w){re.escape(s)}(?!\w)", out), (doc_id, mode, sp.type, s)


def test_dev_notes_dates_keep_their_intervals_and_ids_their_shape(corpora, dev_notes):
    es, n_dates, masked = locale("es"), 0, 0
    for doc_id, text, spans in dev_notes:
        red = redact_spans(text, spans, RedactConfig("surrogate", lang="es"), doc_id)
        shifts, months = set(), set()
        for sp, new in zip(spans, red.replacements):
            old = text[sp.start:sp.end]
            if sp.type == "DATE":
                a = read_date(old, "es")
                if a is None:                       # unreadable: masked, never a random date
                    assert set(new) == {"*"} and len(new) == len(old)
                    masked += 1
                    continue
                b = read_date(new, "es")
                assert b is not None, (doc_id, old, new)          # parses back with the note's locale
                n_dates += 1
                if a.date: shifts.add((b.date - a.date).days)
                elif a.m and a.y: months.add((b.y * 12 + b.m) - (a.y * 12 + a.m))
            if sp.type.startswith(("ID:", "CONTACT:PHONE", "CONTACT:FAX", "LOCATION:ZIP")):
                assert shape_of(new) == shape_of(old) and new != old, (doc_id, old, new)
        assert len(shifts) <= 1 and len(months) <= 1, (doc_id, shifts, months)   # one shift: every interval kept
    assert n_dates > 600 and masked < 10


def test_dev_notes_surrogates_are_spanish(corpora, dev_notes):
    from seq2seq.deid.surrogates import _name_lists, faker_for
    male, female, last = _name_lists("es_ES")
    addr = next(p for p in faker_for("es_ES").providers if "address" in type(p).__module__)
    seen = dict(name=0, city=0, street=0)
    for doc_id, text, spans in dev_notes[:120]:
        red = redact_spans(text, spans, RedactConfig("surrogate", lang="es"), doc_id)
        for sp, new in zip(spans, red.replacements):
            if sp.type.startswith("NAME:") and sp.type != "NAME:OTHER":
                words = [w for w in re.findall(r"\w+", new) if len(w) > 1 and fold(w) not in locale("es").particles]
                assert all(fold(w) in male | female | last for w in words), (text[sp.start:sp.end], new)
                seen["name"] += 1
            elif sp.type == "LOCATION:CITY":
                assert fold(new) in {fold(c) for c in addr.states}, new
                seen["city"] += 1
            elif sp.type == "LOCATION:STREET" and text[sp.start].isalpha():
                assert new.split()[0].casefold() in {p.casefold() for p in addr.street_prefixes}, new
                seen["street"] += 1
    assert min(seen.values()) > 50, seen


def test_the_docs_before_and_after_is_what_the_code_writes():
    "docs/redaction.md shows the surrogates of the fixture notes: each redacted cell is in the copy the code writes."
    from seq2seq.formats.readers import read_brat
    page = (ROOT / "docs" / "redaction.md").read_text(encoding="utf-8")
    tables = page.split("## Before and after")[1].split("## Operators")[0]
    for folder, lang in (("notes_es", "es"), ("notes_brat", "en")):
        doc_id, text, spans = next(read_brat(ROOT / "tests" / "fixtures" / folder))
        out = redact(text, spans, RedactConfig("surrogate", lang=lang), doc_id)
        table = tables.split(f"`--lang {lang}`")[1].split("\n\n")[0]
        cells = re.findall(r"^\| `(.+?)` \| `(.+?)`", table, re.M)
        assert len(cells) >= 3
        for before, after in cells:
            for part in after.split(" ... "): assert part.strip(". ") in out, part
            for part in before.split(" ... "): assert part.strip(". ") in text, part
