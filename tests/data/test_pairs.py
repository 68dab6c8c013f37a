from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from seq2seq.data.pairs import make_vocab, read_pairs, seq2seq_collate, seq2seq_data
from seq2seq.errors import DataError
from seq2seq.text.tags import TagError
from seq2seq.text.tokenizer import JOIN, SPACE, tokenize

SAMPLE = Path(__file__).resolve().parents[2] / 'data' / 'sample.csv'
HEAD = 'orig_text,annotated_text\n'


def write(tmp_path, text: str, name: str = 'pairs.csv', encoding: str = 'utf-8') -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def one_line(e) -> str:
    msg = str(e.value)
    assert '\n' not in msg
    return msg


# --- read_pairs ------------------------------------------------------------------------------

def test_read_pairs_csv_and_frame(tmp_path):
    p = write(tmp_path, HEAD + 'Seen on 3/4.,Seen on {{DATE}}3/4{{/DATE}}.\n"a, b","a, {{X}}b{{/X}}"\n')
    df = read_pairs(p)
    assert df.orig_text.tolist() == ['Seen on 3/4.', 'a, b']
    assert df.annotated_text.tolist() == ['Seen on {{DATE}}3/4{{/DATE}}.', 'a, {{X}}b{{/X}}']
    assert df.attrs['dropped'] == 0
    same = read_pairs(pd.DataFrame({'orig_text': ['x'], 'annotated_text': ['{{A}}x{{/A}}']}))
    assert same.annotated_text.tolist() == ['{{A}}x{{/A}}']


def test_read_pairs_other_columns(tmp_path):
    p = write(tmp_path, 'a,b,c\nx,{{A}}x{{/A}},1\n')
    assert read_pairs(p, src='a', tgt='b')[['a', 'b']].values.tolist() == [['x', '{{A}}x{{/A}}']]


def test_strings_stay_strings(tmp_path):
    p = write(tmp_path, HEAD + '007,007\nNA,NA\nnan,nan\nnull,null\n')
    df = read_pairs(p)
    assert df.orig_text.tolist() == ['007', 'NA', 'nan', 'null']  # no numbers, no NA guessing
    assert df.attrs['dropped'] == 0


@pytest.mark.parametrize('head,missing,has', [
    ('orig,annotated_text\n', "'orig_text'", "'orig', 'annotated_text'"),
    ('text,label\n', "'orig_text', 'annotated_text'", "'text', 'label'"),
])
def test_missing_column(tmp_path, head, missing, has):
    p = write(tmp_path, head + 'a,b\n')
    with pytest.raises(DataError) as e: read_pairs(p)
    msg = one_line(e)
    assert str(p) in msg and f'missing column(s) {missing}' in msg and msg.endswith(f'the file has {has}')


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match='no such file') as e: read_pairs(tmp_path / 'nope.csv')
    assert str(tmp_path / 'nope.csv') in one_line(e)


@pytest.mark.parametrize('text,what', [('', 'the file is empty'), ('\n\n', 'no header or rows'),
                                       (HEAD, 'no rows'), ('orig_text,annotated_text', 'no rows')])
def test_empty_inputs(tmp_path, text, what):
    p = write(tmp_path, text)
    with pytest.raises(DataError, match=what) as e: read_pairs(p)
    assert one_line(e).startswith(str(p))


def test_empty_cells_are_skipped_and_counted(tmp_path, capsys):
    p = write(tmp_path, HEAD + 'a,{{A}}a{{/A}}\n,x\ny,\n  ,\t\nb,b\n')
    df = read_pairs(p)
    assert df.orig_text.tolist() == ['a', 'b'] and df.attrs['dropped'] == 3
    assert f"{p}: skipped 3 row(s)" in capsys.readouterr().out
    read_pairs(p, verbose=False)
    assert capsys.readouterr().out == ''
    frame = pd.DataFrame({'orig_text': ['a', np.nan, None, 'c'], 'annotated_text': ['a', 'b', 'c', np.nan]})
    assert read_pairs(frame, verbose=False).orig_text.tolist() == ['a']


def test_every_row_empty(tmp_path):
    with pytest.raises(DataError, match="every row has an empty 'orig_text' or 'annotated_text' cell"):
        read_pairs(write(tmp_path, HEAD + ',x\ny,\n'))


def test_malformed_tags_name_file_column_and_row(tmp_path):
    # row 4 counts the skipped empty row 2: numbers are the file's 1-based data rows
    p = write(tmp_path, HEAD + 'a,{{A}}a{{/A}}\n,x\nb,b\nd,{{X}}d\n')
    with pytest.raises(TagError) as e: read_pairs(p)
    assert one_line(e) == f"{p}: column 'annotated_text', row 4: unclosed {{{{X}}}} opened at char 0"
    assert read_pairs(p, check_tags=False).annotated_text.tolist()[-1] == '{{X}}d'


def test_malformed_tags_in_marked_source(tmp_path):
    # the strip task: a source that holds markers is validated too
    p = write(tmp_path, HEAD + '{{A}}a{{/A}},a\n{{B}}b{{/C}},b\n')
    with pytest.raises(TagError, match=r"column 'orig_text', row 2: \{\{/C\}\} at char 6 does not match"):
        read_pairs(p)


def test_plain_source_with_braces_is_not_validated(tmp_path):
    p = write(tmp_path, HEAD + 'f(x) = {{y},f(x) = {{y}\n')
    with pytest.raises(TagError, match="column 'annotated_text', row 1: stray"):
        read_pairs(p)  # the target always is
    df = read_pairs(p, src='annotated_text', tgt='annotated_text', check_tags=False)
    assert len(df) == 1


def test_not_utf8(tmp_path):
    p = write(tmp_path, HEAD + 'x,x\n' * 3000 + 'café,café\n', encoding='latin-1')
    with pytest.raises(DataError) as e: read_pairs(p)
    msg = one_line(e)
    at = (HEAD + 'x,x\n' * 3000 + 'caf').encode()
    assert msg == f'{p}: not UTF-8 (line 3002, byte {len(at)}: 0xe9); re-save it as UTF-8'


def test_invalid_csv(tmp_path):
    p = write(tmp_path, HEAD + '"unterminated,x\n')
    with pytest.raises(DataError, match='not a valid CSV') as e: read_pairs(p)
    assert one_line(e).startswith(str(p))


# --- DataBunch -------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def pairs():
    return read_pairs(SAMPLE, verbose=False).head(40)


@pytest.fixture(scope='module')
def data(pairs, tmp_path_factory):
    return seq2seq_data(pairs, path=tmp_path_factory.mktemp('d'), bs=8, min_freq=1, seed=3)


def test_batches(data, pairs):
    y = data.train_ds.y.vocab
    bos, eos, pad = y.stoi['xxbos'], y.stoi['xxeos'], y.stoi['xxpad']
    assert pad == 1 and data.train_ds.x.vocab.stoi['xxpad'] == 1
    srcs, tgts = set(pairs.orig_text), set(pairs.annotated_text)
    for dl in (data.train_dl, data.valid_dl):
        for (src, tgt_in), tgt_out in dl:
            assert src.dtype == tgt_in.dtype == torch.int64
            assert tgt_in.shape == tgt_out.shape and src.size(0) == tgt_in.size(0)
            for s, ti, to in zip(src, tgt_in, tgt_out):
                for row in (s, to):  # right padding: real tokens, then only padding
                    n = int((row != pad).sum())
                    assert (row[:n] != pad).all() and (row[n:] == pad).all() and n > 0
                n = int((to != pad).sum())
                assert ti[0] == bos and to[n - 1] == eos and (to[:n - 1] != eos).all()
                assert torch.equal(to[:n - 1], ti[1:n])          # the same sequence shifted by one
                if dl is data.train_dl:  # (validation words may be unknown to the vocab)
                    assert str(data.train_ds.x.reconstruct(s)) in srcs
                    assert str(data.train_ds.y.reconstruct(torch.cat([ti[:1], to]))) in tgts
    assert not (data.train_ds.x.items[0] == data.train_ds.x.vocab.stoi['xxbos']).any()  # no BOS in sources


def test_reconstruct_exact_text(data, pairs):
    train_rows = [i for i in range(len(pairs)) if i not in set(data.valid_idx)]
    assert len(train_rows) == len(data.train_ds) == 36
    for lst, col in ((data.train_ds.x, 'orig_text'), (data.train_ds.y, 'annotated_text')):
        texts = [str(lst.reconstruct(torch.tensor(ids))) for ids in lst.items]
        assert texts == [pairs[col].iloc[i] for i in train_rows]


def ids_of(text, vocab, bos_eos=True):
    "Ids of `text` as the data's processors should give them (unknown words -> 0)."
    toks = tokenize(text)
    return [vocab.stoi[t] for t in (['xxbos'] + toks + ['xxeos'] if bos_eos else toks)]


def test_valid_rows(data, pairs):
    assert len(data.valid_idx) == len(data.valid_ds) == 4
    for k, i in enumerate(data.valid_idx):
        assert list(data.valid_ds.x.items[k]) == ids_of(pairs.orig_text.iloc[i], data.train_ds.x.vocab, False)
        assert list(data.valid_ds.y.items[k]) == ids_of(pairs.annotated_text.iloc[i], data.train_ds.y.vocab)


def test_reconstruct_drops_padding(data):
    lst = data.train_ds.y
    ids = torch.tensor(list(lst.items[0]) + [1, 1, 1])
    r = lst.reconstruct(ids)
    assert str(r) == str(lst.reconstruct(torch.tensor(lst.items[0]))) and 1 not in r.data.tolist()


def test_collate():
    class It:  # a fastai item: `.data` holds the ids
        def __init__(self, ids): self.data = np.array(ids)
    (src, tgt_in), tgt_out = seq2seq_collate([(It([5, 6, 7]), It([2, 8, 3])), (It([9]), It([2, 8, 8, 8, 3]))])
    assert src.tolist() == [[5, 6, 7], [9, 1, 1]]
    assert tgt_in.tolist() == [[2, 8, 3, 1], [2, 8, 8, 8]]
    assert tgt_out.tolist() == [[8, 3, 1, 1], [8, 8, 8, 3]]


def test_valid_batches_sorted_by_length(pairs):
    data = seq2seq_data(pairs, bs=4, valid_pct=0.5, seed=1)
    lens = [int((s != 1).sum() + (t != 1).sum())
            for (src, _), tgt_out in data.valid_dl for s, t in zip(src, tgt_out)]
    assert len(lens) == len(data.valid_ds) and lens == sorted(lens, reverse=True)


def test_rare_markers_and_controls_kept():
    rows = [('Seen today.', 'Seen today.')] * 6 + [
        ('Call 555-0100.', 'Call {{CONTACT:PHONE}}555-0100{{/CONTACT:PHONE}}.'),  # one PHONE span
        ('a  b\nc', 'a  b\nc')]                                                    # rare whitespace
    df = pd.DataFrame(rows, columns=['orig_text', 'annotated_text'])
    data = seq2seq_data(df, valid_pct=0.1, min_freq=2)
    tx, ty = data.train_ds.x.vocab.itos, data.train_ds.y.vocab.itos
    for t in ('{{CONTACT:PHONE}}', '{{/CONTACT:PHONE}}', JOIN, SPACE, '  ', '\n'):
        assert t in ty
    for t in (JOIN, SPACE, '  ', '\n'):
        assert t in tx
    assert 'Call' not in ty and len(ty) % 8 == 0 and len(tx) % 8 == 0
    assert len(set(ty)) == len(ty) - ty.count('xxfake') + min(ty.count('xxfake'), 1)  # no duplicates


def test_make_vocab():
    v = make_vocab([['a', 'a', '{{X}}', ' \n']], min_freq=2)
    assert {'a', '{{X}}', ' \n', JOIN, SPACE} <= set(v.itos) and len(v.itos) % 8 == 0
    assert v.itos[:2] == ['xxunk', 'xxpad']


def test_seeded_split(pairs):
    def valid(d): return [list(a) for a in d.valid_ds.x.items]
    a, b = seq2seq_data(pairs, seed=7, valid_pct=0.25), seq2seq_data(pairs, seed=7, valid_pct=0.25)
    c = seq2seq_data(pairs, seed=8, valid_pct=0.25)
    assert len(a.valid_ds) == 10 and len(a.train_ds) == 30
    assert valid(a) == valid(b) and sorted(valid(a)) != sorted(valid(c))


def test_valid_col(pairs):
    df = pairs.assign(is_valid=['true' if i % 5 == 0 else 'False' for i in range(len(pairs))])
    data = seq2seq_data(df, valid_col='is_valid', min_freq=1)
    assert list(data.valid_idx) == list(range(0, 40, 5)) and len(data.valid_ds) == 8
    for k, i in enumerate(data.valid_idx):
        assert list(data.valid_ds.y.items[k]) == ids_of(df.annotated_text.iloc[i], data.train_ds.y.vocab)
    flags = df.assign(is_valid=[i % 5 == 0 for i in range(len(df))])  # booleans work too
    assert list(seq2seq_data(flags, valid_col='is_valid').valid_idx) == list(range(0, 40, 5))
    with pytest.raises(DataError, match="no column 'split'"):
        seq2seq_data(df, valid_col='split')
    for flag in (False, True):  # an empty split would pass as one item long (fastai) and fail later
        with pytest.raises(DataError, match=f"column 'v' marks {40 if flag else 0} of 40 rows"):
            seq2seq_data(df.assign(v=flag), valid_col='v')


def test_one_row_validation_set(pairs):
    # fastai squeezes a one-row split's labels into a scalar; Seq2SeqTextList.label_from_df does not
    df = pairs.head(10).assign(v=[i == 3 for i in range(10)])
    for data in (seq2seq_data(df, valid_col='v'), seq2seq_data(df, valid_pct=0.1)):
        assert len(data.valid_ds) == 1 and len(data.valid_idx) == 1
        (src, tgt_in), tgt_out = next(iter(data.valid_dl))
        assert src.size(0) == 1 and tgt_in[0, 0] == data.train_ds.y.vocab.stoi['xxbos']


# --- pairs whose columns disagree -----------------------------------------------------------

def test_a_pair_whose_columns_disagree_is_refused_or_skipped(tmp_path, capsys):
    rows = [('Smith', '{{NAME}}Smith{{/NAME}}'), ('Smith', '{{NAME}}Smyth{{/NAME}}'), ('', 'x'),
            ('a {{b', 'a {\\{b'), ('on 3/4', 'on {{DATE}}3/5{{/DATE}}')]
    p = tmp_path / 'pairs.csv'
    pd.DataFrame(rows, columns=['orig_text', 'annotated_text']).to_csv(p, index=False)
    with pytest.raises(DataError, match=r"2 row\(s\) whose 'annotated_text' without its tags is not 'orig_text': "
                                        r"row 2 at char 2 \('ith' vs 'yth'\); row 5 at char 5 \('4' vs '5'\); "
                                        r"fix them or pass --skip-bad-rows"):
        read_pairs(p)
    df = read_pairs(p, skip_bad_rows=True)
    assert df.orig_text.tolist() == ['Smith', 'a {{b'] and df.attrs['bad'] == 2 and df.attrs['dropped'] == 1
    assert "skipped 2 row(s) whose 'orig_text' and 'annotated_text' disagree" in capsys.readouterr().out


def test_the_strip_task_checks_the_source_side(tmp_path):
    df = pd.DataFrame({'a': ['{{NAME}}Smith{{/NAME}} x', '{{NAME}}Smith{{/NAME}}'], 'b': ['Smith x', 'Smyth']})
    with pytest.raises(DataError, match="1 row.s. whose 'a' without its tags is not 'b': row 2"):
        read_pairs(df, src='a', tgt='b')
