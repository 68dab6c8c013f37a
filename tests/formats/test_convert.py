"Tests for seq2seq/formats/convert.py and scripts/convert.py: our fixtures, bad input, the CLI, the real corpora."
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from seq2seq.commands.cli import run
from seq2seq.commands.convert import main
from seq2seq.formats.convert import ConvertError, convert, load_mapping, save_csv
from seq2seq.formats.readers import Report, read_brat, read_conll, read_docs, read_json
from seq2seq.text.sentences import split_sentences
from seq2seq.text.tags import Span, parse, strip_tags

FIX = Path(__file__).resolve().parents[1] / 'fixtures' / 'convert'
MAPS = Path(__file__).resolve().parents[2] / 'seq2seq' / 'resources' / 'maps'
# The fixture texts as the BRAT/i2b2 fixtures hold them (types written the BRAT way).
BRAT_ROWS = [
    ('Rosa Villanueva was admitted on 12/03/2087.',
     '{{PATIENT}}Rosa Villanueva{{/PATIENT}} was admitted on {{DATE}}12/03/2087{{/DATE}}.', 'note-a'),
    ('She was seen at Alder Clinic. Wing B by Dr. Omar Pike.',
     'She was seen at {{HOSPITAL}}Alder Clinic. Wing B{{/HOSPITAL}} by {{DOCTOR}}Dr. Omar Pike{{/DOCTOR}}.', 'note-a'),
    ('Phone: 555-0142!', 'Phone: {{PHONE}}555-0142{{/PHONE}}!', 'note-a'),
    ('Discharged to Harlow Street.', 'Discharged to {{STREET}}Harlow Street{{/STREET}}.', 'note-a'),
    ('No findings today.', 'No findings today.', 'note-b'),
    ('Mr. Lee Park returned home on 04/05/2088.',
     'Mr. {{PATIENT}}Lee Park{{/PATIENT}} returned home on {{DATE}}04/05/2088{{/DATE}}.', 'note-b'),
]


def rows(df):
    "The DataFrame as a list of row tuples."
    return [tuple(r) for r in df[['orig_text', 'annotated_text', 'doc_id']].itertuples(index=False)]


def pairs(df):
    "The (orig, annotated) pairs of a DataFrame, as a Counter."
    return Counter(zip(df.orig_text, df.annotated_text))


def assert_round_trip(df):
    "Every row parses back to its orig_text."
    for o, a in zip(df.orig_text, df.annotated_text):
        assert parse(a)[0] == o and strip_tags(a) == o


def read_csv(path):
    return pd.read_csv(path, keep_default_na=False)


# ----------------------------------------------------------------------------- our fixtures

def test_brat_fixture():
    df, rep = convert(FIX / 'brat', 'brat')
    assert rows(df) == BRAT_ROWS
    assert list(df.columns) == ['orig_text', 'annotated_text', 'doc_id']
    # T5 (Omar Pike) lies inside T4 (Dr. Omar Pike): the earlier, longer one is kept, the drop reported
    assert rep.overlaps == [('note-a', Span(84, 97, 'DOCTOR'), Span(88, 97, 'NAME'))]
    assert rep.discontinuous == [('note-a', 'T8')]
    assert (rep.docs_read, rep.docs_converted, rep.docs_failed, rep.rows) == (2, 2, [], 6)
    assert rep.spans == Counter(PATIENT=2, DATE=2, HOSPITAL=1, DOCTOR=1, PHONE=1, STREET=1)
    assert_round_trip(df)


def test_readers_without_report_warn_on_skipped_spans():
    with pytest.warns(UserWarning, match='note-a: discontinuous span T8 skipped'):
        docs = list(read_brat(FIX / 'brat'))
    assert [d for d, _, _ in docs] == ['note-a', 'note-b'] and len(docs[0][2]) == 7
    assert [d for d, _, _ in read_json(FIX / 'json')] == [f'records.json#{i}' for i in range(4)]


def test_brat_span_across_lines(tmp_path):
    write(tmp_path / 'x.txt', 'Lives at 4 Elm\nRoad now.\n')
    df, rep = convert(write(tmp_path / 'x.ann', 'T1\tSTREET 9 19\t4 Elm Road\n'), 'brat', unit='document')
    assert df.annotated_text.tolist() == ['Lives at {{STREET}}4 Elm\nRoad{{/STREET}} now.'] and rep.docs_failed == []


def test_brat_one_file_and_txt_path():
    df, _ = convert(FIX / 'brat' / 'note-b.ann', 'brat')
    df2, _ = convert(FIX / 'brat' / 'note-b.txt', 'brat')
    assert rows(df) == rows(df2) == BRAT_ROWS[4:]


def test_i2b2_fixture_types_and_same_rows_as_brat():
    df, rep = convert(FIX / 'i2b2', 'i2b2')
    types = Counter(t for a in df.annotated_text for t in re.findall(r'\{\{([^/][^}]*)\}\}', a))
    # category:TYPE, just the category when TYPE repeats it (DATE/DATE) or is empty
    assert types == Counter({'NAME:PATIENT': 2, 'DATE': 2, 'LOCATION:HOSPITAL': 1, 'NAME:DOCTOR': 1,
                             'CONTACT:PHONE': 1, 'LOCATION:STREET': 1})
    assert rep.overlaps[0][2] == Span(88, 97, 'NAME')
    to_i2b2 = {'PATIENT': 'NAME:PATIENT', 'HOSPITAL': 'LOCATION:HOSPITAL', 'DOCTOR': 'NAME:DOCTOR',
               'PHONE': 'CONTACT:PHONE', 'STREET': 'LOCATION:STREET', 'NAME': 'NAME'}
    brat, _ = convert(FIX / 'brat', 'brat', mapping=to_i2b2)
    assert rows(df) == rows(brat)


def test_conll_iob1_and_iob2_give_the_same_rows():
    df2, rep2 = convert(FIX / 'conll' / 'iob2.conll', 'conll')
    df1, rep1 = convert(FIX / 'conll' / 'iob1.conll', 'conll')
    assert pairs(df1) == pairs(df2) and len(df1) == 4
    assert set(df2.doc_id) == {'iob2.conll#0', 'iob2.conll#1'} and set(df1.doc_id) == {'iob1.conll#0'}
    assert any('IOB2' in n for n in rep2.notes) and any('IOB1' in n for n in rep1.notes)
    # adjacent PER chunks stay apart: B-PER in IOB2, B-PER after I-PER in IOB1
    assert df1.annotated_text[0].startswith('{{PER}}Ivan Petrov{{/PER}} {{PER}}Lena Marsh{{/PER}} and {{PER}}Kofi')
    assert df1.orig_text[3] == 'She did n\'t attend the " Gala " in Nairobi \'s old town .'
    assert rep1.spans == rep2.spans == Counter(PER=4, LOC=3, MISC=2, ORG=1)
    assert_round_trip(df1)


def test_conll_detokenize():
    df, _ = convert(FIX / 'conll', 'conll', detokenize=True)
    assert df.orig_text.tolist()[2:4] == ['The Kestrel Prize went to Dana Reyes (Chile).',
                                          'She didn\'t attend the "Gala" in Nairobi\'s old town.']
    assert df.annotated_text[3] == 'She didn\'t attend the "{{MISC}}Gala{{/MISC}}" in {{LOC}}Nairobi{{/LOC}}\'s old town.'
    assert len(df) == 8 and pairs(df.iloc[:4]) == pairs(df.iloc[4:])   # both files, same sentences
    assert_round_trip(df)


def test_json_fixture():
    df, rep = convert(FIX / 'json' / 'records.json', 'json')
    assert df.orig_text.tolist() == ['Call Mia Torres at 555-0199.', 'Mia lives in Oslo.',
                                     'Send it to 14 Birch Road\nApt. 3, Dunmore or email ana@example.org',
                                     'Ms. Ines Varga works at Northwind Labs.', 'Nothing to see here.']
    # a span ends the first sentence, another starts the next; the newline inside a span is not a cut
    assert df.annotated_text[0] == 'Call {{PERSON}}Mia Torres{{/PERSON}} at {{PHONE_NUMBER}}555-0199{{/PHONE_NUMBER}}.'
    assert df.annotated_text[1] == '{{PERSON}}Mia{{/PERSON}} lives in {{GPE}}Oslo{{/GPE}}.'
    assert '{{STREET_ADDRESS}}14 Birch Road\nApt. 3, Dunmore{{/STREET_ADDRESS}}' in df.annotated_text[2]
    # equal starts: the longest is kept
    assert rep.overlaps == [('records.json#2', Span(24, 38, 'ORGANIZATION'), Span(24, 33, 'ORGANIZATION'))]
    assert df.doc_id.tolist() == ['records.json#0', 'records.json#0', 'records.json#1', 'records.json#2', 'records.json#3']
    assert_round_trip(df)


def test_unit_line_and_document():
    df, _ = convert(FIX / 'brat', 'brat', unit='line')
    assert df.orig_text.tolist()[:2] == ['Rosa Villanueva was admitted on 12/03/2087. She was seen at Alder Clinic. '
                                         'Wing B by Dr. Omar Pike.', 'Phone: 555-0142! Discharged to Harlow Street.']
    df, _ = convert(FIX / 'json', 'json', unit='document')
    assert len(df) == 4 and df.orig_text[0] == 'Call Mia Torres at 555-0199. Mia lives in Oslo.'


# ----------------------------------------------------------------------------- sentence splitting

def test_split_never_cuts_a_span():
    text = 'Seen at Oak Clinic. Ward C today. Then home.'
    sp = Span(8, 26, 'HOSPITAL')  # "Oak Clinic. Ward C"
    assert split_sentences(text, [sp]) == [('Seen at Oak Clinic. Ward C today.', [sp]), ('Then home.', [])]
    assert [s for s, _ in split_sentences(text, [])] == ['Seen at Oak Clinic.', 'Ward C today.', 'Then home.']


def test_split_span_at_the_boundary():
    text = 'Born 1/2/2060. Ada Stone came back!  Fine.'
    sps = [Span(5, 13, 'DATE'), Span(15, 24, 'NAME')]
    assert split_sentences(text, sps) == [('Born 1/2/2060.', [Span(5, 13, 'DATE')]),
                                          ('Ada Stone came back!', [Span(0, 9, 'NAME')]), ('Fine.', [])]


def test_split_rules_and_abbreviations():
    cut = lambda t, lang='en': [s for s, _ in split_sentences(t, [], lang)]
    assert cut('Dr. Smith saw J. Doe. He left.') == ['Dr. Smith saw J. Doe.', 'He left.']
    assert cut('It was 5 p.m. on Monday. ok. Then 3 rooms. (See note.) Done?  Yes!') == \
        ['It was 5 p.m. on Monday. ok.', 'Then 3 rooms.', '(See note.)', 'Done?', 'Yes!']
    assert cut('Vive en la Avda. Sol. La Dra. Gil lo vio. ¿Dolor? No.', 'es') == \
        ['Vive en la Avda. Sol.', 'La Dra. Gil lo vio.', '¿Dolor?', 'No.']
    assert cut('Vive en la Avda. Sol.', 'en') == ['Vive en la Avda.', 'Sol.']
    assert cut('one\n\n  two  \n') == ['one', 'two']
    with pytest.raises(ValueError, match='lang'): split_sentences('a', [], 'xx')
    with pytest.raises(ValueError, match='overlapping'): split_sentences('abcdef', [Span(0, 3, 'A'), Span(2, 4, 'B')])


def test_split_trim_keeps_a_span_that_starts_with_space():
    assert split_sentences('x.\n  ab \n', [Span(4, 7, 'T')]) == [('x.', []), (' ab', [Span(0, 3, 'T')])]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='ab A5.!?\n(', max_size=40), st.lists(st.tuples(st.integers(0, 40), st.integers(1, 6)), max_size=6),
       st.sampled_from(['sentence', 'line', 'document']))
def test_split_property(text, raw, unit):
    sps, end = [], 0
    for s, n in sorted(raw):   # keep the non-overlapping, in-range ones
        if s >= end and s + n <= len(text): sps.append(Span(s, s + n, 'T')); end = s + n
    out = split_sentences(text, sps, unit=unit)
    pos, got = 0, []
    for piece, psp in out:
        i = text.index(piece, pos)   # pieces are slices of the text, in order
        got += [Span(s + i, e + i, t) for s, e, t in psp]
        pos = i + len(piece)
        assert piece
        if not psp or psp[0].start > 0: assert not piece[0].isspace()
        if not psp or psp[-1].end < len(piece): assert not piece[-1].isspace()
    assert got == sps   # every span kept whole, in one piece


# ----------------------------------------------------------------------------- mapping

def test_mapping_null_rules_unmapped_and_comments(tmp_path):
    m = {'_comment': 'ignored', 'PATIENT': 'NAME:PATIENT', 'DOCTOR': None,
         'DATE': [[r'\d\d/\d\d/2087', 'DATE'], ['.*', None]]}
    df, rep = convert(FIX / 'brat', 'brat', mapping=m)
    assert rep.dropped_by_map == Counter(DOCTOR=1, DATE=1)
    assert rep.unmapped == Counter(HOSPITAL=1, NAME=1, PHONE=1, STREET=1)
    assert df.annotated_text[0].startswith('{{NAME:PATIENT}}Rosa Villanueva{{/NAME:PATIENT}} was admitted on {{DATE}}')
    assert df.annotated_text[1].endswith(' by Dr. {{NAME}}Omar Pike{{/NAME}}.')
    assert rep.overlaps == []   # the dropped DOCTOR no longer hides NAME
    assert df.annotated_text[5].endswith('returned home on 04/05/2088.')
    yml = tmp_path / 'm.yaml'
    yml.write_text('PATIENT: NAME:PATIENT\nDOCTOR: null\n')
    assert load_mapping(yml) == {'PATIENT': 'NAME:PATIENT', 'DOCTOR': None}


@pytest.mark.parametrize('bad, msg', [({'A': 'bad type!'}, 'invalid tag type'), ({'A': [['(', 'X']]}, 'bad regex'),
                                      ({'A': [['x']]}, 'rule must be'), (['A'], 'must be an object')])
def test_mapping_errors(bad, msg):
    with pytest.raises(ConvertError, match=msg): load_mapping(bad)


def test_mapping_file_errors(tmp_path):
    (tmp_path / 'm.json').write_text('{"A": ')
    with pytest.raises(ConvertError, match='not valid JSON'): load_mapping(tmp_path / 'm.json')
    with pytest.raises(ConvertError, match='cannot read mapping'): load_mapping(tmp_path / 'none.json')


# ----------------------------------------------------------------------------- bad input

def write(path, data):
    "Write str or bytes to `path` (parents created); returns the path."
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    return path


def failed(rep):
    "{doc_id: reason} of the failed documents."
    return dict(rep.docs_failed)


def test_brat_bad_documents(tmp_path):
    d = tmp_path / 'brat'
    shutil.copytree(FIX / 'brat', d)
    write(d / 'text.txt', 'Seen by Ana Ruiz.'); write(d / 'text.ann', 'T1\tNAME 8 16\tAnna Ruiz\n')
    write(d / 'range.txt', 'Seen by Ana Ruiz.'); write(d / 'range.ann', 'T1\tNAME 8 99\tAna Ruiz\n')
    write(d / 'latin.txt', 'Caf\xe9 Ruiz.'.encode('latin-1')); write(d / 'latin.ann', 'T1\tNAME 0 4\tCafe\n')
    write(d / 'lonely.ann', 'T1\tNAME 0 4\tAbcd\n')
    write(d / 'line.txt', 'Seen by Ana.'); write(d / 'line.ann', 'T1\tNAME eight 11\tAna\n')
    write(d / 'slash.txt', 'Seen by Ana.'); write(d / 'slash.ann', 'T1\tFirst/Name 8 11\tAna\n')
    df, rep = convert(d, 'brat')
    f = failed(rep)
    assert set(f) == {'text', 'range', 'latin', 'lonely', 'line', 'slash'}
    assert "'Anna Ruiz' does not match 'Ana Ruiz'" in f['text']
    assert 'offsets 8-99 outside the text (length 17)' in f['range']
    assert 'not valid UTF-8: byte 0xe9' in f['latin'] and 'latin.txt' in f['latin']
    assert 'no text file lonely.txt' in f['lonely']
    assert "offset 'eight' is not an integer" in f['line'] and 'line 1' in f['line']
    assert "'First/Name' cannot be written as a tag" in f['slash'] and 'mapping' in f['slash']
    assert rows(df) == BRAT_ROWS and (rep.docs_read, rep.docs_converted) == (8, 2)
    assert 'documents: 8 read, 2 converted, 6 failed' in rep.summary()
    with pytest.raises(ConvertError, match='^latin: '):   # without a report a reader is strict
        list(read_brat(d))


def test_i2b2_bad_documents(tmp_path):
    d = tmp_path / 'xml'
    shutil.copytree(FIX / 'i2b2', d)
    xml = '<?xml version="1.0" encoding="UTF-8"?><r><TEXT><![CDATA[{}]]></TEXT><TAGS>{}</TAGS></r>'
    write(d / 'text.xml', xml.format('Seen by Ana.', '<NAME id="P0" start="8" end="11" text="Ann" TYPE="PATIENT"/>'))
    write(d / 'range.xml', xml.format('Seen by Ana.', '<NAME id="P0" start="8" end="40" text="Ana" TYPE="PATIENT"/>'))
    write(d / 'broken.xml', '<r><TEXT>unclosed')
    write(d / 'latin.xml', xml.format('Caf\xe9.', '').encode('latin-1'))
    write(d / 'notext.xml', '<r><TAGS/></r>')
    df, rep = convert(d, 'i2b2')
    f = failed(rep)
    assert set(f) == {'text', 'range', 'broken', 'latin', 'notext'}
    assert '<NAME id="P0">' in f['text'] and "'Ann' does not match 'Ana'" in f['text']
    assert 'offsets 8-40 outside' in f['range']
    assert 'not well-formed XML' in f['broken'] and 'not well-formed XML' in f['latin']
    assert 'no <TEXT>' in f['notext']
    assert len(df) == 6 and set(df.doc_id) == {'note-a', 'note-b'} and rep.docs_read == 7


def test_conll_bad_sentences(tmp_path):
    good = (FIX / 'conll' / 'iob2.conll').read_bytes()
    bad = b'Ana B-PER\nsaw O\n\nBob X-PER\n\nlonely\n\nCaf\xe9 B-LOC\n\nTom B-PER\n'
    p = write(tmp_path / 'c' / 'bad.conll', bad)
    write(tmp_path / 'c' / 'good.conll', good)
    df, rep = convert(p.parent, 'conll')
    assert [d for d, _ in rep.rows_skipped] == ['bad.conll#0'] * 3
    reasons = [r for _, r in rep.rows_skipped]
    assert "line 4: tag 'X-PER' is not O, B-TYPE or I-TYPE" in reasons[0]
    assert 'line 6: expected "TOKEN ... TAG"' in reasons[1]
    assert 'line 8 is not valid UTF-8: byte 0xe9' in reasons[2]
    assert df.orig_text[df.doc_id == 'bad.conll#0'].tolist() == ['Ana saw', 'Tom']
    assert (df.doc_id != 'bad.conll#0').sum() == 4
    with pytest.raises(ConvertError, match='bad.conll#0: line 4'): list(read_conll(p))


def test_json_bad_records(tmp_path):
    recs = json.loads((FIX / 'json' / 'records.json').read_text())
    bad = [{'spans': []},
           {'full_text': 'Hi Ana.', 'spans': [{'entity_type': 'PERSON', 'start_position': 3, 'end_position': 6,
                                               'entity_value': 'Ann'}]},
           {'full_text': 'Hi Ana.', 'spans': [{'entity_type': 'PERSON', 'start_position': 3, 'end_position': 60}]},
           {'full_text': 'Hi Ana.', 'spans': [{'start_position': 3, 'end_position': 6}]},
           {'full_text': 'CAFE_HERE', 'spans': []}]
    raw = json.dumps(recs + bad).encode().replace(b'CAFE_HERE', b'Caf\xe9')  # one record not UTF-8
    d = tmp_path / 'j'
    write(d / 'mixed.json', raw)
    write(d / 'notalist.json', '{"full_text": "x"}')
    write(d / 'broken.json', '[{"full_text": ')
    df, rep = convert(d, 'json')
    f = failed(rep)
    assert set(f) == {'mixed.json#4', 'mixed.json#5', 'mixed.json#6', 'mixed.json#7', 'mixed.json#8',
                      'notalist.json', 'broken.json'}
    assert 'no "full_text"' in f['mixed.json#4'] and "'Ann' does not match 'Ana'" in f['mixed.json#5']
    assert 'offsets 3-60 outside' in f['mixed.json#6'] and 'no "entity_type"' in f['mixed.json#7']
    assert 'not valid UTF-8: byte 0xe9 at char 3' in f['mixed.json#8']
    assert 'expected a JSON list' in f['notalist.json'] and 'not valid JSON' in f['broken.json']
    assert len(df) == 5 and rep.docs_converted == 4


def test_text_with_braces_is_skipped_not_mangled(tmp_path):
    recs = [{'full_text': 'Use {{DATE}} here. Ana came.', 'spans': [{'entity_type': 'NAME', 'start_position': 19,
                                                                      'end_position': 22}]}]
    df, rep = convert(write(tmp_path / 'r.json', json.dumps(recs)), 'json')
    assert df.annotated_text.tolist() == ['{{NAME}}Ana{{/NAME}} came.']
    assert len(rep.rows_skipped) == 1 and rep.rows_skipped[0][0] == 'r.json#0' and '"{{"' in rep.rows_skipped[0][1]


@pytest.mark.parametrize('args, msg', [(('nothere', 'brat'), 'input not found'), ((FIX / 'brat', 'xml'), 'unknown format'),
                                       ((FIX / 'i2b2', 'brat'), 'no .ann files'), ((FIX / 'i2b2', 'conll'), 'no .conll')])
def test_fatal_errors(args, msg):
    with pytest.raises(ConvertError, match=msg): convert(*args)
    with pytest.raises(ConvertError, match=msg): list(read_docs(*args))


def test_fatal_bad_options():
    with pytest.raises(ConvertError, match="unknown lang 'fr'"): convert(FIX / 'brat', 'brat', lang='fr')
    with pytest.raises(ConvertError, match='unknown unit'): convert(FIX / 'brat', 'brat', unit='word')


def test_report_summary_lists_and_limits():
    rep = Report(docs_converted=1, docs_failed=[(f'd{i}', 'bad') for i in range(12)], unmapped=Counter(X=3))
    s = rep.summary(max_items=2)
    assert 'documents: 13 read, 1 converted, 12 failed' in s and 'failed document d1: bad' in s
    assert 'failed document d2' not in s and '... and 10 more' in s and 'unmapped types, kept as they are: X 3' in s


def test_save_csv_replaces_atomically(tmp_path):
    out = tmp_path / 'sub' / 'o.csv'
    df, _ = convert(FIX / 'json', 'json')
    save_csv(df, out)
    save_csv(df.iloc[:2], out)
    assert len(read_csv(out)) == 2 and [p.name for p in out.parent.iterdir()] == ['o.csv']
    back = read_csv(save_csv(df, out))
    assert rows(back) == rows(df)   # newlines inside a cell survive the CSV


# ----------------------------------------------------------------------------- CLI

def test_cli_end_to_end(tmp_path, capsys):
    out = tmp_path / 'out.csv'
    m = write(tmp_path / 'm.json', json.dumps({'PATIENT': 'NAME:PATIENT', 'NAME': None}))
    assert run(main, ['--format', 'brat', str(FIX / 'brat'), '--out', str(out), '--map', str(m), '--lang', 'en']) == 0
    df = read_csv(out)
    assert list(df.columns) == ['orig_text', 'annotated_text', 'doc_id'] and len(df) == 6
    assert df.annotated_text[0].startswith('{{NAME:PATIENT}}Rosa Villanueva{{/NAME:PATIENT}}')
    assert_round_trip(df)
    printed = capsys.readouterr().out
    assert 'documents: 2 read, 2 converted, 0 failed' in printed and f'wrote 6 rows to {out}' in printed
    assert 'unmapped types, kept as they are: ' in printed and '1 mapped to null' in printed


def test_cli_conll_detokenize(tmp_path):
    out = tmp_path / 'c.csv'
    assert run(main, ['-f', 'conll', str(FIX / 'conll' / 'iob1.conll'), '-o', str(out), '--detokenize']) == 0
    assert read_csv(out).orig_text[2] == 'The Kestrel Prize went to Dana Reyes (Chile).'


@pytest.mark.parametrize('argv, msg', [(['-f', 'xml', 'FIX'], 'unknown format'), (['-f', 'brat', 'missing'], 'input not found'),
                                       (['-f', 'brat', 'FIX', '--lang', 'de'], 'unknown lang'),
                                       (['-f', 'brat', 'FIX', '--map', 'missing.json'], 'cannot read mapping')])
def test_cli_fatal_errors_one_line(tmp_path, capsys, argv, msg):
    out = tmp_path / 'o.csv'
    argv = [str(FIX / 'brat') if a == 'FIX' else a for a in argv]
    assert run(main, argv + ['--out', str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: ') and msg in err and '\n' not in err
    assert not out.exists()


def test_cli_no_rows_is_an_error(tmp_path, capsys):
    p = write(tmp_path / 'x.json', '[{"spans": []}]')
    assert run(main, ['-f', 'json', str(p), '-o', str(tmp_path / 'o.csv')]) == 2
    assert 'no rows converted' in capsys.readouterr().err


# ----------------------------------------------------------------------------- real corpora

def test_meddocan_xml_and_brat_agree(corpora):
    dev, m = corpora / 'meddocan' / 'dev', MAPS / 'meddocan.json'
    brat, rb = convert(dev / 'brat', 'brat', mapping=m, lang='es')
    xml, rx = convert(dev / 'xml', 'i2b2', mapping=m, lang='es')
    assert rows(brat) == rows(xml) and rb.spans == rx.spans
    assert rb.docs_failed == rx.docs_failed == [] and rb.unmapped == rx.unmapped == Counter()
    assert_round_trip(brat)
    n_ann = sum(1 for f in (dev / 'brat').glob('*.ann') for line in f.read_text(encoding='utf-8').splitlines()
                if line.startswith('T'))
    assert sum(rb.spans.values()) + sum(rb.dropped_by_map.values()) == n_ann
    ref = read_csv(corpora / 'meddocan' / 'dev.csv')
    assert sum(rb.spans.values()) == sum(len(parse(a)[1]) for a in ref.annotated_text)
    same = sum((pairs(brat) & pairs(ref)).values()) / len(ref)
    print(f'MEDDOCAN dev: {same:.1%} of dev.csv rows identical ({len(brat)} rows vs {len(ref)})')
    # dev.csv also cuts after abbreviations ("Remitido por: Dr." | "José ..."); the text is the same
    assert same > 0.93 and ''.join(brat.orig_text).replace(' ', '') == ''.join(ref.orig_text).replace(' ', '')


def test_presidio_json(corpora):
    src = corpora / 'presidio' / 'synth_dataset_v2.json'
    n_src = sum(len(r['spans']) for r in json.loads(src.read_text(encoding='utf-8')))
    df, rep = convert(src, 'json')
    assert_round_trip(df)
    assert sum(rep.spans.values()) == n_src and rep.overlaps == [] and rep.docs_failed == []
    mapped, rm = convert(src, 'json', mapping=MAPS / 'presidio.json', unit='document')
    ref = read_csv(corpora / 'presidio' / 'synth.csv')
    norm = lambda s: re.sub(r'\s+', ' ', s).strip()   # synth.csv turned newlines into spaces
    mine = Counter(zip(mapped.orig_text.map(norm), mapped.annotated_text.map(norm)))
    same = sum((mine & pairs(ref)).values()) / len(ref)
    print(f'Presidio: {same:.1%} of synth.csv rows identical up to whitespace ({len(mapped)} rows vs {len(ref)})')
    assert same > 0.99 and sum(rm.spans.values()) == sum(len(parse(a)[1]) for a in ref.annotated_text)


def test_wikigold_conll(corpora):
    src = corpora / 'wikigold' / 'wikigold.conll.txt'
    lines = src.read_text(encoding='utf-8').split('\n')
    tags = [ln.split()[-1] if ln.strip() else 'O' for ln in lines]
    n_chunks = sum(t != 'O' and (t[0] == 'B' or p[2:] != t[2:]) for p, t in zip(['O'] + tags, tags))
    df, rep = convert(src, 'conll')
    assert_round_trip(df)
    assert sum(rep.spans.values()) == n_chunks and rep.rows_skipped == []
    assert any('IOB1' in n for n in rep.notes)
    ref = read_csv(corpora / 'wikigold' / 'wikigold.csv')
    detok, _ = convert(src, 'conll', detokenize=True)
    same = sum((pairs(detok) & pairs(ref)).values()) / len(ref)
    print(f'WikiGold: {same:.1%} of wikigold.csv rows identical with detokenize ({len(detok)} rows vs {len(ref)})')
    assert len(df) == len(ref) and same > 0.97


def test_a_single_bad_file_gives_the_reason(tmp_path, capsys):
    bad = tmp_path / "bad.xml"
    bad.write_text("<root><TEXT>unclosed")
    assert run(main, [str(bad), "-f", "i2b2", "-o", str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "1 failed: bad: not well-formed XML" in err[0], err
    assert not (tmp_path / "out.csv").exists()


def test_a_built_in_map_is_named_by_its_name(tmp_path, monkeypatch):
    from seq2seq.resources import MAPS, builtin_map
    for name in MAPS:
        assert load_mapping(name) == load_mapping(builtin_map(name)) and load_mapping(name)
    monkeypatch.chdir(tmp_path)  # a file of that name in the working folder wins
    (tmp_path / "meddocan").write_text('{"A": "B"}')
    assert load_mapping("meddocan") == {"A": "B"}
    with pytest.raises(ConvertError, match="cannot read mapping"): load_mapping("no-such-map")


def test_cli_out_inside_the_input_folder_or_onto_the_map_is_refused(tmp_path, capsys):
    "Issue 22, case 1: the CSV never goes where the corpus (or the --map file) is."
    import shutil
    corpus = tmp_path / 'brat'
    shutil.copytree(FIX / 'brat', corpus)
    m = tmp_path / 'map.json'
    m.write_text('{"PER": "NAME:PATIENT"}')
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}, m.read_bytes()
    for out, what in ((corpus / 'train.csv', 'lies inside the input INPUT'), (m, 'is the input --map')):
        assert run(main, ['--format', 'brat', str(corpus), '--out', str(out), '--map', str(m)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and what in err[0], err
    assert ({p.name: p.read_bytes() for p in corpus.iterdir()}, m.read_bytes()) == before
