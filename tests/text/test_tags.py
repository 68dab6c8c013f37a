import csv
import math
import re

import pytest
from hypothesis import given, settings, strategies as st

from seq2seq.text.tags import (
    MARKER_RE, Span, TagError, annotate, check_column, close_marker, is_close, is_marker, is_open, marker_type,
    open_marker, parse, spans, strip_tags, tag_types, validate)

EX = 'Seen by Dr. {{NAME:DOCTOR}}Smith{{/NAME:DOCTOR}} on {{DATE}}3/4/2091{{/DATE}}.'
EX_PLAIN = 'Seen by Dr. Smith on 3/4/2091.'


# --- markers ---------------------------------------------------------------------------------

@pytest.mark.parametrize('tok,op,cl,typ', [
    ('{{DATE}}', True, False, 'DATE'),
    ('{{/DATE}}', False, True, 'DATE'),
    ('{{NAME:DOCTOR}}', True, False, 'NAME:DOCTOR'),
    ('{{/ID:MEDICALRECORD}}', False, True, 'ID:MEDICALRECORD'),
    ('{{LOCATION:STREET}}', True, False, 'LOCATION:STREET'),
    ('{{per_2-x:a_b-1}}', True, False, 'per_2-x:a_b-1'),
])
def test_marker_predicates(tok, op, cl, typ):
    assert is_marker(tok) and is_open(tok) == op and is_close(tok) == cl
    assert marker_type(tok) == typ
    assert (close_marker if cl else open_marker)(typ) == tok
    m = MARKER_RE.fullmatch(tok)
    assert m['type'] == typ and m['close'] == ('/' if cl else '')


@pytest.mark.parametrize('tok', ['{{DATE}}x', ' {{DATE}}', '{{1DATE}}', '{{ DATE}}', '{{DATE }}',
                                 '{{DA TE}}', '{{DATE:}}', '{{:SUB}}', '{{A:B:C}}', '{{/}}', '{{}}',
                                 '{DATE}', '{{{DATE}}', '{{DATE}}{{/DATE}}', '{{ÉTAT}}', 'DATE'])
def test_not_a_marker(tok):
    assert not is_marker(tok) and not is_open(tok) and not is_close(tok)
    with pytest.raises(TagError, match='not a tag marker'): marker_type(tok)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(alphabet='{}/:AZaz09_- xÉ', max_size=14),
                 st.from_regex(r'\{\{/?[A-Za-z][A-Za-z0-9_-]*(:[A-Za-z0-9_-]+)?\}\}', fullmatch=True),
                 st.text(max_size=6)))
def test_marker_predicates_are_the_regex(tok):
    "The predicates test the '{{' prefix before the regex: the same answers as the regex alone."
    m = MARKER_RE.fullmatch(tok)
    assert is_marker(tok) is (m is not None)
    assert is_open(tok) is (m is not None and not m['close'])
    assert is_close(tok) is (m is not None and bool(m['close']))


@pytest.mark.parametrize('typ', ['', '1A', 'A B', 'A:', 'A:B:C', 'A}}', 'É'])
def test_bad_type_rejected(typ):
    with pytest.raises(TagError, match='invalid tag type'): open_marker(typ)
    with pytest.raises(TagError, match='invalid tag type'): close_marker(typ)


# --- parse / strip / spans on hand-made cases --------------------------------------------------

def test_parse_example():
    plain, sps = parse(EX)
    assert plain == EX_PLAIN
    assert sps == [Span(12, 17, 'NAME:DOCTOR'), Span(21, 29, 'DATE')]
    assert [plain[s:e] for s, e, _ in sps] == ['Smith', '3/4/2091']
    assert spans(EX) == sps and tag_types(EX) == ['NAME:DOCTOR', 'DATE']
    assert strip_tags(EX) == EX_PLAIN
    validate(EX)


@pytest.mark.parametrize('text,plain,sps', [
    ('', '', []),
    ('no tags at all', 'no tags at all', []),
    ('{{PER}}Ann{{/PER}}', 'Ann', [Span(0, 3, 'PER')]),
    # adjacent spans: the close comes before the next open at the same plain offset
    ('{{PER}}Ann{{/PER}}{{LOC}}Rome{{/LOC}}', 'AnnRome', [Span(0, 3, 'PER'), Span(3, 7, 'LOC')]),
    ('Calle {{LOCATION:STREET}}Carmen, 23{{/LOCATION:STREET}}.', 'Calle Carmen, 23.',
     [Span(6, 16, 'LOCATION:STREET')]),
    # single braces are ordinary text, also right next to markers
    ('a {b} {{DATE}}{x}{{/DATE}} }', 'a {b} {x} }', [Span(6, 9, 'DATE')]),
    ('{{{DATE}}1{{/DATE}}}', '{1}', [Span(1, 2, 'DATE')]),
    ('x{{{DATE}}\\{{{/DATE}}}', 'x{{}', [Span(2, 3, 'DATE')]),  # `{{` of the text is escaped (`{\{`)
    ('{{ID:MEDICALRECORD}}2569870{{/ID:MEDICALRECORD}} é\n\t', '2569870 é\n\t',
     [Span(0, 7, 'ID:MEDICALRECORD')]),
])
def test_parse_cases(text, plain, sps):
    assert parse(text) == (plain, sps)
    assert strip_tags(text) == plain
    assert annotate(plain, sps) == text


def test_strip_tags_does_not_validate():
    # model output may be malformed: strip removes each valid marker and keeps the rest
    bad = '{{DATE}}x {{/NAME}}y {{ z}} {{PER}}'
    assert strip_tags(bad) == 'x y {{ z}} '
    with pytest.raises(TagError): parse(bad)


# --- each error kind ---------------------------------------------------------------------------

@pytest.mark.parametrize('text,pat', [
    ('On {{DATE}}3/4', r'^unclosed \{\{DATE\}\} opened at char 3$'),
    ('On 3/4{{/DATE}} x', r'^\{\{/DATE\}\} at char 6 closes nothing'),
    ('{{NAME}}Ann{{/DATE}}', r'^\{\{/DATE\}\} at char 11 does not match \{\{NAME\}\} opened at char 0$'),
    ('{{NAME:DOCTOR}}Ann{{/NAME:PATIENT}}', r'\{\{/NAME:PATIENT\}\} at char 18 does not match '
                                            r'\{\{NAME:DOCTOR\}\}'),
    ('{{NAME}}Dr {{PER}}Ann{{/PER}}{{/NAME}}', r'^\{\{PER\}\} at char 11 opened inside \{\{NAME\}\} '
                                                r'opened at char 0 \(spans do not nest\)$'),
    ('a {{ b', r"^stray '\{\{' at char 2"),
    ('a }} b', r"^stray '\}\}' at char 2"),
    ('{{DATE}}x{{/DATE}}}}', r"^stray '\}\}' at char 18"),
    ('{{{{DATE}}x{{/DATE}}', r"^stray '\{\{' at char 0"),
    ('{{ DATE }}x', r"^stray '\{\{' at char 0"),
    ('{{date:}}x', r"^stray '\{\{' at char 0"),
    ('x {{DATE}}{{/DATE}}.', r'^empty span \{\{DATE\}\}\{\{/DATE\}\} at char 2$'),
])
def test_errors(text, pat):
    with pytest.raises(TagError, match=pat) as ei: parse(text)
    assert isinstance(ei.value, ValueError)
    assert ei.value.pos == int(re.search(r'char (\d+)', str(ei.value))[1])
    for f in (validate, spans, tag_types):
        with pytest.raises(TagError): f(text)


# --- annotate ----------------------------------------------------------------------------------

def test_annotate_sorts_and_roundtrips():
    sps = [Span(21, 29, 'DATE'), (12, 17, 'NAME:DOCTOR')]
    assert annotate(EX_PLAIN, sps) == EX
    assert annotate(*parse(EX)) == EX
    assert annotate(EX_PLAIN, []) == EX_PLAIN


@pytest.mark.parametrize('sps,pat', [
    ([Span(2, 2, 'A')], 'empty span'),
    ([Span(0, 9, 'A')], 'out of range'),
    ([Span(-1, 2, 'A')], 'out of range'),
    ([Span(3, 1, 'A')], 'out of range'),
    ([Span(0, 3, 'A'), Span(2, 4, 'B')], 'overlaps'),
    ([Span(1, 2, 'B'), Span(0, 4, 'A')], 'overlaps'),
    ([Span(0, 2, 'A B')], 'invalid tag type'),
])
def test_annotate_errors(sps, pat):
    with pytest.raises(TagError, match=pat): annotate('abcd', sps)


# --- properties --------------------------------------------------------------------------------

TYPES = st.from_regex(r'[A-Za-z][A-Za-z0-9_-]{0,6}(:[A-Za-z0-9_-]{1,6})?', fullmatch=True)
CHARS = st.one_of(st.sampled_from('{}{}/: \t\n.'), st.characters(codec='utf-8'))
# plain text may hold single braces anywhere but never `{{` or `}}` (those are stray braces)
PLAIN = st.text(CHARS, max_size=40).map(lambda s: re.sub(r'(?<=\{)(?=\{)|(?<=\})(?=\})', ' ', s))


@st.composite
def plain_and_spans(draw):
    "Random plain text plus random non-overlapping non-empty spans, in random order."
    plain = draw(PLAIN)
    cuts = sorted(draw(st.sets(st.integers(0, len(plain)), max_size=8)))
    sps = [Span(s, e, draw(TYPES)) for s, e in zip(cuts, cuts[1:]) if draw(st.booleans())]
    return plain, draw(st.permutations(sps))


@settings(max_examples=300, deadline=None)
@given(plain_and_spans())
def test_annotate_parse_property(ps):
    plain, sps = ps
    text = annotate(plain, sps)
    assert strip_tags(text) == plain
    assert parse(text) == (plain, sorted(sps))


FRAGS = st.sampled_from(['{{DATE}}', '{{/DATE}}', '{{NAME:DOCTOR}}', '{{/NAME:DOCTOR}}', '{{', '}}',
                         '{', '}', '/', ':', 'DATE', 'a', ' ', 'é', '\n'])


@settings(max_examples=300, deadline=None)
@given(st.lists(FRAGS, max_size=20).map(''.join))
def test_parse_either_raises_or_roundtrips(text):
    "On any text, parse raises TagError or agrees with strip_tags and annotate gives text back."
    try: plain, sps = parse(text)
    except TagError as err:
        assert 0 <= err.pos <= len(text)
        return
    assert plain == strip_tags(text)
    assert all(0 <= s < e <= len(plain) for s, e, _ in sps)
    assert annotate(plain, sps) == text


# --- check_column ------------------------------------------------------------------------------

def test_check_column_names_file_column_row():
    col = ['ok', None, math.nan, 3, '{{DATE}}x{{/DATE}}', 'fine {a}', 'On {{DATE}}3/4', '{{/X}}']
    with pytest.raises(TagError) as ei: check_column(col, 'annotated_text', 'data.csv')
    assert str(ei.value) == "data.csv: column 'annotated_text', row 7: unclosed {{DATE}} opened at char 3"
    assert ei.value.pos == 3 and isinstance(ei.value.__cause__, TagError)
    with pytest.raises(TagError, match=r"^column 'y', row 1: stray"): check_column(iter(['a }} b']), 'y')


def test_check_column_skips_missing_and_passes_good():
    assert check_column([None, math.nan, 1.5, '', EX], 'annotated_text', 'x.csv') is None
    assert check_column([], 'annotated_text') is None


# --- real converted corpora --------------------------------------------------------------------

CSVS = ['meddocan/dev.csv', 'presidio/synth.csv', 'wikigold/wikigold.csv']


@pytest.mark.parametrize('name', CSVS)
def test_real_corpora_validate_and_strip(corpora, name):
    with open(corpora / name, newline='', encoding='utf-8') as f: rows = list(csv.DictReader(f))
    assert len(rows) > 1000
    bad = []
    for i, r in enumerate(rows, 1):
        try: plain = parse(r['annotated_text'])[0]
        except TagError as err:
            bad.append(f'row {i}: {err}')
            continue
        if plain != r['orig_text'] or strip_tags(r['annotated_text']) != plain:
            bad.append(f'row {i}: stripped text differs from orig_text')
    assert not bad, f'{name}: {len(bad)} bad rows, e.g. {bad[:5]}'
    # the corpus really is annotated, so the check above is not vacuous
    assert sum(bool(spans(r['annotated_text'])) for r in rows) > 100
    check_column((r['annotated_text'] for r in rows), 'annotated_text', name)


# ---------------------------------------------------------------- the escape of marker-like plain text

_BRACEY = st.lists(st.sampled_from(list("{}\\/:xD ATE\n") + ["{{", "}}", "{{DATE}}", "{{/DATE}}"]),
                   max_size=20).map("".join) | st.text()


@settings(max_examples=300, deadline=None)
@given(_BRACEY, st.data())
def test_any_plain_text_round_trips_through_annotate(plain, data):
    from seq2seq.text.tags import escape_text, unescape_text
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(plain)), max_size=6))))
    sps = [Span(a, b, "DATE") for a, b in zip(cuts[::2], cuts[1::2]) if a < b]
    ann = annotate(plain, sps)
    assert parse(ann) == (plain, sps)
    assert strip_tags(ann) == plain and unescape_text(escape_text(plain)) == plain
    assert "{{" not in escape_text(plain) and "}}" not in escape_text(plain)


@pytest.mark.parametrize("plain, written", [("{{DATE}}", "{\\{DATE}\\}"), ("}}}", "}\\}\\}"), ("{\\{", "{\\\\{"),
                                            ("a {b} \\ c", "a {b} \\ c")])
def test_the_documented_escape(plain, written):
    from seq2seq.text.tags import escape_text
    assert escape_text(plain) == written and parse(written) == (plain, [])


@pytest.mark.parametrize('text,has', [
    (EX, True), (EX_PLAIN, False), ('a {{/DATE}} b', True), ('{{DATE} and }}', False), ('', False)])
def test_has_markers_finds_any_marker(text, has):
    from seq2seq.text.tags import escape_text, has_markers
    assert has_markers(text) is has
    assert not has_markers(escape_text(text))  # escaped, marker-like text is text
