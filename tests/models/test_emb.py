import os
import random

import fasttext
import numpy as np
import pytest
import torch

from seq2seq.errors import EmbeddingFileError
from seq2seq.models import emb as E
from seq2seq.models.emb import Coverage, fasttext_embedding

SPECIALS = ['xxunk', 'xxpad', 'xxbos', 'xxeos', 'xxfld', 'xxmaj', 'xxup', 'xxrep', 'xxwrep', 'xxjn', 'xxsp']
MARKERS = ['{{DATE}}', '{{/DATE}}', '{{NAME:DOCTOR}}', '{{/NAME:DOCTOR}}']
WORDS = ('patient seen by doctor smith at the hospital on admitted with chest pain and discharged '
         'home taking medication daily dose mg').split()
UNSEEN = 'hospitals'  # not in the training text, shares most n-grams with 'hospital'
DIM = 16


def sentences(n=200, seed=0):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        s = ' '.join(rng.choice(WORDS) for _ in range(8))
        out.append(f'xxbos {s} {{{{DATE}}}} 3/4 {{{{/DATE}}}}')
    return out


ITOS = SPECIALS + MARKERS + WORDS + [UNSEEN]


@pytest.fixture(scope='module')
def trained():
    "One training run, with the fastText model it built captured."
    models = []
    real = fasttext.train_unsupervised

    def spy(*a, **k):
        models.append(real(*a, **k))
        return models[-1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fasttext, 'train_unsupervised', spy)
        e, cov = fasttext_embedding(ITOS, texts=sentences(), emb_size=DIM, epochs=5)
    assert len(models) == 1
    return e, cov, models[0]


def row(e, w): return e.weight[ITOS.index(w)].detach()


def test_coverage_counts(trained):
    e, cov, _ = trained
    assert e.weight.shape == (len(ITOS), DIM) and e.padding_idx == 1
    assert cov.total == len(ITOS)
    assert (cov.found, cov.subword, cov.random) == (len(WORDS), 1, len(SPECIALS) + len(MARKERS))


def test_found_words_get_model_vector(trained):
    e, _, m = trained
    for w in WORDS:
        assert torch.equal(row(e, w), torch.from_numpy(m.get_word_vector(w)))


def test_specials_and_markers_random(trained):
    e, _, m = trained
    # 'xxbos' and '{{DATE}}' are in the training text, yet must not take the model's vector
    assert m.get_word_id('xxbos') >= 0 and m.get_word_id('{{DATE}}') >= 0
    for w in ['xxbos', '{{DATE}}']:
        assert not torch.allclose(row(e, w), torch.from_numpy(m.get_word_vector(w)))
    rnd = torch.stack([row(e, w) for w in SPECIALS + MARKERS if w != 'xxpad'])
    # N(0, std) rows, std being that of every row fastText gave a vector (found words and the
    # sub-word one), drawn from a generator seeded with `seed` (42): check them exactly
    std = torch.stack([row(e, w) for w in WORDS + [UNSEEN]]).std()
    draw = torch.randn((len(ITOS), DIM), generator=torch.Generator().manual_seed(42)) * std
    idx = [ITOS.index(w) for w in SPECIALS + MARKERS if w != 'xxpad']
    assert torch.allclose(rnd, draw[idx], atol=1e-6)


def test_subword_vector(trained):
    e, _, m = trained
    assert m.get_word_id(UNSEEN) < 0
    v = row(e, UNSEEN)
    assert torch.equal(v, torch.from_numpy(m.get_word_vector(UNSEEN)))
    # built from its character n-grams: the mean of their input vectors (none is the word itself)
    subs, ids = m.get_subwords(UNSEEN)
    assert UNSEEN not in subs and len(ids) > 3
    grams = torch.from_numpy(np.stack([m.get_input_vector(i) for i in ids])).mean(0)
    assert torch.count_nonzero(v) > 0 and torch.allclose(v, grams, atol=1e-6)


def test_pad_row_zero(trained, tmp_path):
    e, _, _ = trained
    assert torch.count_nonzero(e.weight[1]) == 0
    p = tmp_path / 'v.vec'
    write_vec(p, [('cat', [1, 2, 3, 4]), ('dog', [4, 3, 2, 1])])
    e2, cov = fasttext_embedding(['cat', 'xxpad', 'dog'], vectors=p, emb_size=4, pad_idx=0)
    assert torch.count_nonzero(e2.weight[0]) == 0 and torch.count_nonzero(e2.weight[1]) == 4
    assert e2.padding_idx == 0 and cov == Coverage(1, 0, 2)  # the pad row counts as random


def test_token_lists_and_determinism():
    "Token lists are joined by spaces; one-thread training repeats (fastText's float sums are not bit-exact)."
    txt = sentences(50)
    e1, c1 = fasttext_embedding(ITOS, texts=txt, emb_size=DIM, epochs=2)
    e2, c2 = fasttext_embedding(ITOS, texts=(s.split() for s in txt), emb_size=DIM, epochs=2)
    assert c1 == c2 and torch.allclose(e1.weight, e2.weight, atol=1e-3)


def test_bin_file(trained, tmp_path):
    _, cov, m = trained
    p = tmp_path / 'model.bin'
    m.save_model(str(p))
    e, cov2 = fasttext_embedding(ITOS, vectors=p, emb_size=DIM)
    assert cov2 == cov
    assert torch.equal(row(e, UNSEEN), torch.from_numpy(m.get_word_vector(UNSEEN)))
    with pytest.raises(ValueError, match='dimension 16') as ei:
        fasttext_embedding(ITOS, vectors=p, emb_size=32)
    assert not isinstance(ei.value, EmbeddingFileError)


def write_vec(path, rows, header=None, dim=4):
    lines = [header or f'{len(rows)} {dim}'] + [w + ' ' + ' '.join(f'{x:.4f}' for x in v) + ' ' for w, v in rows]
    path.write_text('\n'.join(lines) + '\n', encoding='utf-8')


def test_vec_file(tmp_path):
    rng = np.random.default_rng(0)
    rows = [(w, rng.normal(size=4).round(4)) for w in ['cat', 'dog', 'fish', 'xxbos', '{{DATE}}', 'café']]
    p = tmp_path / 'v.vec'
    write_vec(p, rows)
    itos = ['xxunk', 'xxpad', 'xxbos', '{{DATE}}', 'cat', 'dog', 'café', 'bird', 'dogs']
    e, cov = fasttext_embedding(itos, vectors=p, emb_size=4)
    assert (cov.found, cov.subword, cov.random) == (3, 0, 6)  # no sub-words from a .vec file
    for i, w in [(4, 'cat'), (5, 'dog'), (6, 'café')]:
        assert np.allclose(e.weight[i].detach().numpy(), dict(rows)[w])
    assert not np.allclose(e.weight[2].detach().numpy(), dict(rows)['xxbos'])
    assert torch.count_nonzero(e.weight[1]) == 0
    with pytest.raises(ValueError, match='dimension 4'):
        fasttext_embedding(itos, vectors=p, emb_size=8)
    same, _ = fasttext_embedding(itos, vectors=p, emb_size=4)
    other, _ = fasttext_embedding(itos, vectors=p, emb_size=4, seed=7)
    assert torch.equal(same.weight, e.weight)  # random rows come from `seed` alone
    assert not torch.equal(other.weight[2], e.weight[2]) and torch.equal(other.weight[4], e.weight[4])


@pytest.mark.parametrize('content,reason', [
    (b'', 'empty'),
    (b'this is not\na vectors file at all\n', 'first line'),
    (b'2 3\ncat 1 2 3\ndog 1 2\n', 'values'),
    (b'2 3\ncat 1 2 3\ndog 1 x 3\n', 'non-number'),
    (b'5 3\ncat 1 2 3\n', 'announces'),
])
def test_bad_vec_files(tmp_path, content, reason):
    p = tmp_path / 'bad.vec'
    p.write_bytes(content)
    with pytest.raises(EmbeddingFileError, match=reason) as ei:
        fasttext_embedding(['xxunk', 'xxpad', 'cat', 'dog'], vectors=p, emb_size=3)
    assert str(p) in str(ei.value)


def test_random_bytes_bin(tmp_path):
    p = tmp_path / 'bad.bin'
    p.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(EmbeddingFileError, match='magic'):
        fasttext_embedding(['xxunk', 'xxpad'], vectors=p, emb_size=DIM)
    q = tmp_path / 'noise.vec'  # binary noise under a text name
    q.write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(EmbeddingFileError):
        fasttext_embedding(['xxunk', 'xxpad'], vectors=q, emb_size=DIM)


def test_truncated_bin(trained, tmp_path):
    "fastText itself loads a truncated model half-empty or hangs; the checker must refuse it."
    m = trained[2]
    full = tmp_path / 'model.bin'
    m.save_model(str(full))
    data = full.read_bytes()
    assert E._check_bin(full) == DIM  # the whole file passes
    for n in [6, 40, 100, 300, len(data) // 2, len(data) - 1]:
        p = tmp_path / f'cut{n}.bin'
        p.write_bytes(data[:n])
        with pytest.raises(EmbeddingFileError):
            fasttext_embedding(ITOS, vectors=p, emb_size=DIM)


def test_cache_hit_skips_training(tmp_path, monkeypatch):
    kw = dict(texts=sentences(50), emb_size=DIM, epochs=2, cache_dir=tmp_path)
    e1, c1 = fasttext_embedding(ITOS, **kw)
    assert len(list(tmp_path.glob('emb-*.pt'))) == 1
    assert not list(tmp_path.glob('*.tmp'))

    def boom(*a, **k): raise AssertionError('retrained despite the cache')
    monkeypatch.setattr(fasttext, 'train_unsupervised', boom)
    e2, c2 = fasttext_embedding(ITOS, **kw)
    assert c1 == c2 and torch.equal(e1.weight, e2.weight)
    with pytest.raises(AssertionError, match='retrained'):  # another seed is another key
        fasttext_embedding(ITOS, **{**kw, 'seed': 7})


def test_cache_for_files(tmp_path, monkeypatch):
    p = tmp_path / 'v.vec'
    write_vec(p, [('cat', [1, 2, 3, 4])])
    e1, c1 = fasttext_embedding(['xxunk', 'xxpad', 'cat'], vectors=p, emb_size=4, cache_dir=tmp_path / 'c')
    monkeypatch.setattr(E, '_from_file', lambda *a: pytest.fail('reread the file despite the cache'))
    e2, c2 = fasttext_embedding(['xxunk', 'xxpad', 'cat'], vectors=p, emb_size=4, cache_dir=tmp_path / 'c')
    assert c1 == c2 == Coverage(1, 0, 2) and torch.equal(e1.weight, e2.weight)


def test_coverage_str():
    c = Coverage(9812, 410, 95)
    assert c.total == 10317
    assert str(c) == 'embedding coverage: 9,812 found (95.1%), 410 sub-word (4.0%), 95 random (0.9%)'
    assert sum(c.fractions.values()) == pytest.approx(1)
    assert str(Coverage(0, 0, 0)).startswith('embedding coverage: 0 found (0.0%)')


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match='exactly one'):
        fasttext_embedding(['a'])
    with pytest.raises(FileNotFoundError):
        fasttext_embedding(['a'], vectors=tmp_path / 'missing.vec')
    with pytest.raises(ValueError, match='no words'):
        fasttext_embedding(['a'], texts=['', '  '])


def test_quiet_stderr(capfd):
    "fastText's C-level chatter is swallowed on success and replayed when an error follows."
    with E._quiet_stderr():
        os.write(2, b'chatter\n')
    assert 'chatter' not in capfd.readouterr().err
    with pytest.raises(RuntimeError):
        with E._quiet_stderr():
            os.write(2, b'why it failed\n')
            raise RuntimeError('boom')
    assert 'why it failed' in capfd.readouterr().err


def test_diverged_training_is_retried_at_half_the_rate_on_one_thread(monkeypatch, tmp_path):
    class Fake:  # a trained model as far as _train looks at it
        def __init__(self, scale): self.words, self.scale = ['a', 'b'], scale
        def get_word_vector(self, w): return np.full(DIM, self.scale, dtype=np.float32)
    rates, threads = [], []

    def train(*args, **kwargs):
        rates.append(kwargs['lr'])
        threads.append(kwargs['thread'])
        if len(rates) == 2: raise RuntimeError('Encountered NaN.')
        return Fake(1e17 if len(rates) == 1 else 0.1)   # the first run diverged, the second failed
    monkeypatch.setattr(fasttext, 'train_unsupervised', train)
    model = E._train(tmp_path / 'texts.txt', DIM, 1, 4)
    assert rates == [0.05, 0.025, 0.0125] and model.scale == 0.1
    assert threads == [4, 1, 1]  # retries run on one thread (no lock-free updates racing)
