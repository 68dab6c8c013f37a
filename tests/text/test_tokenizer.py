import re

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from seq2seq.text.tags import MARKER_RE, Span, annotate, is_marker, strip_tags
from seq2seq.text.tokenizer import JOIN, SPACE, MarkerTokenizer, detokenize, is_control, pieces, tokenize

EX = 'Seen by Dr. {{NAME:DOCTOR}}Smith{{/NAME:DOCTOR}} on {{DATE}}3/4/2091{{/DATE}}.'
# fastai's special tokens and our controls are vocabulary words: text that spells one out cannot
# round-trip (a known limitation, see the report); random text is kept clear of them
RESERVED = re.compile(r'xx(jn|sp|bos|eos|pad|fake)')
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def words(toks):
    "Tokens that are neither markers nor whitespace controls."
    return [t for t in toks if not is_marker(t) and not is_control(t)]


def no_markers(toks): return [t for t in toks if not is_marker(t)]


# --- markers ---------------------------------------------------------------------------------

def test_markers_are_single_tokens():
    toks = tokenize(EX)
    assert toks == ['Seen', 'by', 'Dr.', '{{NAME:DOCTOR}}', 'Smith', '{{/NAME:DOCTOR}}', 'on',
                    '{{DATE}}', '3', '/', '4', '/', '2091', '{{/DATE}}', '.']
    assert detokenize(toks) == EX


@pytest.mark.parametrize('text', [
    'x{{DATE}}12/3{{/DATE}}y',                           # glued on both sides
    '{{ID:MEDICALRECORD}}MRN-12_34{{/ID:MEDICALRECORD}}',
    '({{NAME}}Ann{{/NAME}})',
    '{{A}}a{{/A}}{{B}}b{{/B}}',                          # adjacent spans
    'a{{X}}b{{/X}}c',                                   # boundaries inside a spaCy word
    '{{{DATE}}1{{/DATE}}}',                              # single braces around markers are text
])
def test_markers_never_split(text):
    toks = tokenize(text)
    assert [t for t in toks if is_marker(t)] == [m.group(0) for m in MARKER_RE.finditer(text)]
    assert not any(MARKER_RE.search(t) for t in toks if not is_marker(t))
    assert detokenize(toks) == text


# --- round trip ------------------------------------------------------------------------------

@pytest.mark.parametrize('text', [
    '', ' ', '\n', 'a', 'Hello world.', 'Hello  world', '  leading', 'trailing  ', 'trailing ',
    ' both ', 'line\nbreak', 'para\n\nbreak', 'tab\there', 'mixed \t\n ws', 'x\r\ny',
    'Hello , world .', 'Hello,world.', 'Wait...what?!', '(parens) and [brackets] {braces}',
    '( spaced )', 'e-mail co-operate - dash -- em', '3/4/2091 10:30 50% $20 #5',
    "don't can't I'm it's O'Brien rock 'n' roll", "' quoted ' \"dq\"",
    'naïve café Ωmega 東京 emoji 🙂 ok', 'nbsp\u00a0here thin\u2009space', 'zero\u200bwidth',
    'combining e\u0301 accent', 'Tel 631.241.4876 | Fax 689.566.9382',
    'https://www.example.se/ Address: x', 'x@y.com, y@z.org;',
    EX, ' ' + EX + '\n', 'Dr.  {{NAME}}Smith{{/NAME}}  ,  ok', '{{DATE}} 3/4 {{/DATE}}',
])
def test_round_trip_hand_cases(text):
    assert detokenize(tokenize(text)) == text


@pytest.mark.parametrize('text', [
    'Paciente de 45 años, natural de Sevilla.', '¿Qué tal? ¡Muy bien!', 'C/ Mayor nº 3, 2º-B.',
    'Dr. {{NAME:DOCTOR}}José Pérez{{/NAME:DOCTOR}}  (Hospital  {{LOCATION:HOSPITAL}}La Paz'
    '{{/LOCATION:HOSPITAL}})',
    'Remitido el {{DATE}}12/03/2019{{/DATE}}.\nEdad: {{AGE}}45{{/AGE}} años',
])
def test_round_trip_spanish(text):
    toks = tokenize(text, lang='es')
    assert detokenize(toks) == text
    assert [t for t in toks if is_marker(t)] == [m.group(0) for m in MARKER_RE.finditer(text)]


def test_whitespace_controls():
    assert tokenize('a  b') == ['a', '  ', 'b']
    assert tokenize('a\nb') == ['a', '\n', 'b']
    assert tokenize('a ,b') == ['a', SPACE, ',', JOIN, 'b']   # space where none expected, none where one is
    assert tokenize('ab.') == ['ab', '.']                      # defaults cost no tokens
    assert detokenize(['xxbos', 'a', 'b', 'xxeos', 'xxpad', 'xxpad']) == 'a b'


def test_controls_see_through_markers():
    # a span ending in '/' or starting with punctuation: the separator between the words decides,
    # so removing the markers gives the source's tokens (this failed on URL spans before)
    for plain, spans in [('https://x.se/ Address', [(0, 13, 'URL')]), ('(b', [(0, 1, 'X')]),
                         ('x (b', [(2, 3, 'X')]), ('a ,', [(2, 3, 'P')]), ('a b', [(0, 1, 'A'), (2, 3, 'B')])]:
        ann = annotate(plain, [Span(*s) for s in spans])
        assert detokenize(tokenize(ann)) == ann
        assert no_markers(tokenize(ann)) == tokenize(plain), ann


_chunks = st.sampled_from(['word', 'Dr.', 'Smith', "n't", "'s", 'e-mail', '3/4/2091', '12:30', '(', ')',
                           '[', ']', '{', '}', ',', '.', ';', ':', '!', '?', '-', '/', '%', '$', '#', '"', "'",
                           'ñandú', 'Ω', '東京', '🙂', 'é', 'x@y.com', 'http://a.b/', ' ', ' ', ' ', '  ',
                           '\n', '\t', '\u00a0', '\r\n'])
texty = st.lists(_chunks, max_size=25).map(''.join)


@PROPS
@given(st.one_of(st.text(max_size=60), texty))
def test_round_trip_random_text(text):
    assume(not RESERVED.search(text))
    toks = tokenize(text)
    assert detokenize(toks) == text
    assert all(t for t in toks)                     # no empty tokens
    assert [t for t in toks if is_marker(t)] == [m.group(0) for m in MARKER_RE.finditer(text)]


@st.composite
def annotated(draw, on_token_boundaries: bool):
    "(plain, annotated) with random spans, on word boundaries or anywhere."
    plain = draw(texty)
    assume(not RESERVED.search(plain) and '{{' not in plain and '}}' not in plain)
    if on_token_boundaries:
        ws = [p for p in pieces(plain) if not is_control(p.text)]
        cuts = sorted(draw(st.sets(st.integers(0, len(ws)), max_size=6)))
        bounds = [(ws[i].start, ws[j - 1].end) for i, j in zip(cuts[::2], cuts[1::2])]
    else:
        cuts = sorted(draw(st.sets(st.integers(0, len(plain)), max_size=6)))
        bounds = list(zip(cuts[::2], cuts[1::2]))
    types = draw(st.lists(st.sampled_from(['DATE', 'NAME:DOCTOR', 'ID']), min_size=len(bounds),
                          max_size=len(bounds)))
    return plain, annotate(plain, [Span(s, e, t) for (s, e), t in zip(bounds, types)])


@PROPS
@given(annotated(on_token_boundaries=False))
def test_round_trip_random_annotated(pair):
    plain, ann = pair
    toks = tokenize(ann)
    assert detokenize(toks) == ann
    assert [t for t in toks if is_marker(t)] == [m.group(0) for m in MARKER_RE.finditer(ann)]


@PROPS
@given(annotated(on_token_boundaries=True))
def test_target_minus_markers_is_source(pair):
    plain, ann = pair
    assert no_markers(tokenize(ann)) == tokenize(plain)


@PROPS
@given(annotated(on_token_boundaries=False))
def test_target_words_follow_source_cuts(pair):
    "Anywhere a tag boundary falls, the target's words only cut the source's words further."
    plain, ann = pair
    tw, sw = words(tokenize(ann)), words(tokenize(plain))
    for w in sw:  # each source word is one or more consecutive target words
        acc = ''
        while acc != w:
            assert tw and w.startswith(acc + tw[0])
            acc += tw.pop(0)
    assert tw == []


# --- pieces ----------------------------------------------------------------------------------

@pytest.mark.parametrize('text', [EX, '  Dr.  {{NAME}}Smith{{/NAME}}\n,ok ', 'a{{X}}b{{/X}}c', '', '\t'])
def test_pieces_offsets(text):
    plain = strip_tags(text)
    ps = pieces(text)
    assert [p.text for p in ps] == tokenize(text)
    for p in ps:
        if is_marker(p.text): assert p.start == p.end
        elif p.text == JOIN: assert p.start == p.end
        elif p.text == SPACE: assert plain[p.start:p.end] == ' '
        else: assert plain[p.start:p.end] == p.text
    assert [p.start for p in ps] == sorted(p.start for p in ps)


def test_pieces_cut_at_tags_inside_tokens_digits_and_initials():
    "Pinned pieces (as produced before `_word_pieces` was sped up): cuts at markers and `_fine_cuts`."
    got = [tuple(p) for p in pieces("Dr. {{NAME}}Ana{{/NAME}}s, nhc-{{ID}}739146{{/ID}}.  CP:41001\n"
                                     "{{DATE}}21yo{{/DATE}} D. Ruiz", "es")]
    assert got == [('Dr.', 0, 3), ('{{NAME}}', 4, 4), ('Ana', 4, 7), ('{{/NAME}}', 7, 7), ('xxjn', 7, 7),
                   ('s', 7, 8), (',', 8, 9), ('nhc', 10, 13), ('-', 13, 14), ('{{ID}}', 14, 14),
                   ('739146', 14, 20), ('{{/ID}}', 20, 20), ('.', 20, 21), ('  ', 21, 23), ('CP', 23, 25),
                   (':', 25, 26), ('xxjn', 26, 26), ('41001', 26, 31), ('\n', 31, 32), ('{{DATE}}', 32, 32),
                   ('21', 32, 34), ('xxjn', 34, 34), ('yo', 34, 36), ('{{/DATE}}', 36, 36), ('D', 37, 38),
                   ('.', 38, 39), ('Ruiz', 40, 44)]
    got = [tuple(p) for p in pieces("{{A}}x{{/A}}{{B}}y{{/B}}z 3/4/2091 isn't", "en")]
    assert got == [('{{A}}', 0, 0), ('x', 0, 1), ('{{/A}}', 1, 1), ('xxjn', 1, 1), ('{{B}}', 1, 1), ('y', 1, 2),
                   ('{{/B}}', 2, 2), ('xxjn', 2, 2), ('z', 2, 3), ('3', 4, 5), ('/', 5, 6), ('4', 6, 7),
                   ('/', 7, 8), ('2091', 8, 12), ('is', 13, 15), ("n't", 15, 18)]


def test_pieces_marker_offsets():
    ps = pieces(EX)
    plain = strip_tags(EX)
    where = {p.text: p.start for p in ps if is_marker(p.text)}
    assert plain[where['{{NAME:DOCTOR}}']:where['{{/NAME:DOCTOR}}']] == 'Smith'
    assert plain[where['{{DATE}}']:where['{{/DATE}}']] == '3/4/2091'


# --- fastai tokenizer ------------------------------------------------------------------------

def test_marker_tokenizer_strips_fastai_joins():
    tok = MarkerTokenizer('en')
    assert tok.tokenizer('xxbos Hello  world xxeos') == ['xxbos', 'Hello', '  ', 'world', 'xxeos']
    assert tok.tokenizer('xxbos ' + EX + ' xxeos') == ['xxbos'] + tokenize(EX) + ['xxeos']
    assert tok.tokenizer(' a ') == tokenize(' a ')   # no special tokens: nothing taken off
    assert detokenize(tok.tokenizer('xxbos  a xxeos')) == ' a'


def test_marker_tokenizer_unknown_language():
    with pytest.raises(ValueError, match='no language'):
        MarkerTokenizer('zz')


# --- real corpora ----------------------------------------------------------------------------

def _check_corpus(path, lang, n=None):
    "Every row round-trips; returns the share whose target minus markers differs from the source."
    df = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=n)
    differ = 0
    for src, tgt in zip(df.orig_text, df.annotated_text):
        ts, tt = tokenize(src, lang), tokenize(tgt, lang)
        assert detokenize(ts) == src
        assert detokenize(tt) == tgt
        differ += no_markers(tt) != ts
    return differ / len(df), len(df)


@pytest.mark.parametrize('name,lang,n', [('presidio/synth.csv', 'en', None), ('meddocan/train.csv', 'es', 2000)])
def test_corpus_round_trip(corpora, name, lang, n):
    share, rows = _check_corpus(corpora / name, lang, n)
    assert rows > 0
    print(f'{name}: {rows} rows round-trip; {share:.1%} have a tag boundary inside a spaCy token '
          '(target minus markers != source tokens)')
