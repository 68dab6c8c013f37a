"""fastText-initialised embeddings and a coverage report.

`fasttext_embedding(itos, vectors=...)` reads pretrained vectors (a fastText `.bin` model or a
`.vec` text file); `fasttext_embedding(itos, texts=...)` trains a small skipgram model on the
training text first. Either way each token of the vocabulary gets its fastText vector when the
vectors know the word, a vector built from its character n-grams when only a model (`.bin` or
trained) can build one, and a random row otherwise. fastai's special tokens and the inline tag
markers (`{{DATE}}`, `{{/NAME:DOCTOR}}`) are always random: their spelling says nothing useful.
"""
import contextlib
import hashlib
import json
import os
import re
import struct
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from ..text.tags import is_marker
from ..text.tokenizer import SPECIAL_TOKENS  # re-exported
from ..errors import EmbeddingFileError, UserError
from ..utils import atomic_write

__all__ = ['EmbeddingFileError', 'Coverage', 'fasttext_embedding', 'subword_table', 'SPECIAL_TOKENS', 'is_random_token']

MINN, MAXN = 3, 6
# fastText's default is 2M hashing buckets, i.e. 2.4 GB of floats at dim 300; a training corpus
# of a few thousand sentences has far fewer distinct n-grams than that.
TRAIN_BUCKETS = 200_000
FOUND, SUBWORD, RANDOM = 0, 1, 2
_FT_MAGIC = 793712314
_CACHE_FORMAT = 1



@dataclass
class Coverage:
    "How many vocabulary rows got a fastText vector (`found`, `subword`) and how many are `random`."
    found: int
    subword: int
    random: int

    @property
    def total(self) -> int: return self.found + self.subword + self.random

    @property
    def fractions(self) -> dict:
        "Share of each kind, keyed like the fields (all 0 for an empty vocabulary)."
        n = self.total or 1
        return {k: v / n for k, v in asdict(self).items()}

    def __str__(self):
        fr = self.fractions
        parts = [f'{self.found:,} found ({fr["found"]:.1%})', f'{self.subword:,} sub-word ({fr["subword"]:.1%})',
                 f'{self.random:,} random ({fr["random"]:.1%})']
        return 'embedding coverage: ' + ', '.join(parts)


def is_random_token(tok: str) -> bool:
    "True for tokens that always get a random row: fastai specials and `{{...}}` tag markers."
    return tok in SPECIAL_TOKENS or is_marker(tok)


@contextlib.contextmanager
def _quiet_stderr():
    "Swallow what fastText's C++ code writes to stderr; replay it if the block raises."
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try: yield
        except BaseException:
            os.dup2(saved, 2)
            tmp.seek(0)
            sys.stderr.write(tmp.read().decode('utf-8', 'replace'))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


# ------------------------------------------------------------------ .bin files
class _Reader:
    "Buffered little-endian reader that raises EmbeddingFileError at a premature end of file."
    def __init__(self, f, path): self.f, self.path, self.buf, self.i = f, path, b'', 0

    def _fill(self, need: int = 0):
        chunk = self.f.read(max(1 << 20, need))
        if not chunk: raise EmbeddingFileError(self.path, 'file is truncated')
        self.buf, self.i = self.buf[self.i:] + chunk, 0

    def take(self, n: int) -> bytes:
        while len(self.buf) - self.i < n: self._fill(n)
        self.i += n
        return self.buf[self.i - n:self.i]

    def unpack(self, fmt: str): return struct.unpack('<' + fmt, self.take(struct.calcsize('<' + fmt)))

    def skip_cstr(self):
        "Skip a NUL-terminated string."
        while (j := self.buf.find(b'\0', self.i)) < 0: self._fill()
        self.i = j + 1

    def pos(self) -> int: return self.f.tell() - (len(self.buf) - self.i)


def _check_bin(path: Path) -> int:
    """Walk the layout of a fastText `.bin` model and return its dimension.

    fastText's own loader does not check its input (a truncated file can load half-empty or loop
    forever), so the header, the dictionary and the matrix sizes are checked here first.
    """
    size = path.stat().st_size
    with open(path, 'rb') as f:
        r = _Reader(f, path)
        if size < 8 or r.unpack('i')[0] != _FT_MAGIC:
            raise EmbeddingFileError(path, 'it does not start with the fastText magic number')
        # version, then Args: dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate t
        version, dim, *_, loss, model, bucket, _minn, _maxn, _lr_upd, _t = r.unpack('13id')
        if not (version in (11, 12) and dim > 0 and 1 <= loss <= 4 and 1 <= model <= 3 and bucket >= 0):
            raise EmbeddingFileError(path, f'implausible header (version {version}, dim {dim})')
        n_entries, _nwords, _nlabels, _ntokens, n_prune = r.unpack('iiiqq')
        if n_entries < 0 or n_prune < -1: raise EmbeddingFileError(path, 'corrupt dictionary header')
        for _ in range(n_entries):
            r.skip_cstr()
            r.take(9)  # int64 count + int8 entry type
        r.take(8 * max(n_prune, 0))  # -1 means "never pruned"
        if r.unpack('?')[0]: return dim  # quantized (.ftz-style) matrix: layout not checked
        rows, cols = r.unpack('qq')
        pos = r.pos() + 4 * rows * cols
        if rows < 0 or cols != dim or pos + 17 > size:
            raise EmbeddingFileError(path, 'input matrix does not fit the file')
        f.seek(pos + 1)  # skip the `qout` flag
        rows_out, cols_out = struct.unpack('<qq', f.read(16))
        if pos + 17 + 4 * rows_out * cols_out != size:
            raise EmbeddingFileError(path, 'file size does not match its matrices')
    return dim


def _load_bin(path: Path):
    "Load a checked `.bin` model, turning fastText's own errors into EmbeddingFileError."
    import fasttext
    try:
        with _quiet_stderr(): return fasttext.load_model(str(path))
    except (ValueError, RuntimeError) as e: raise EmbeddingFileError(path, str(e)) from e


def _from_model(model, itos: Sequence[str]):
    "Vectors and kinds (FOUND/SUBWORD/RANDOM) for `itos` from a fastText model object."
    wgt = np.zeros((len(itos), model.get_dimension()), dtype=np.float32)
    kinds = np.full(len(itos), RANDOM, dtype=np.int64)
    for i, w in enumerate(itos):
        if is_random_token(w): continue
        v = model.get_word_vector(w)  # for a known word: its own vector averaged with its n-grams
        if model.get_word_id(w) >= 0: kinds[i] = FOUND
        elif np.any(v): kinds[i] = SUBWORD
        else: continue
        wgt[i] = v
    return wgt, kinds


# ------------------------------------------------------------------ .vec files
def _vec_header(path: Path, line: str) -> tuple[int, int]:
    "Parse the `N D` first line of a `.vec` file."
    m = re.fullmatch(r'\s*(\d+) +(\d+)\s*', line, re.ASCII)
    if m is None or int(m[2]) == 0:
        raise EmbeddingFileError(path, f'first line should be "<words> <dimension>", got {line[:60]!r}')
    return int(m[1]), int(m[2])


def _from_vec(path: Path, itos: Sequence[str], emb_size: int):
    """Vectors and kinds for `itos` from a `.vec` text file, read one line at a time.

    Only the lines of words in `itos` are parsed, since such files hold millions of words.
    """
    idx = {}
    for i, w in enumerate(itos):
        if not is_random_token(w): idx.setdefault(w, []).append(i)
    wgt = np.zeros((len(itos), emb_size), dtype=np.float32)
    kinds = np.full(len(itos), RANDOM, dtype=np.int64)
    # invalid UTF-8 cannot match a vocabulary token, so it is replaced rather than fatal
    with open(path, encoding='utf-8', errors='replace', newline='\n') as f:
        header = f.readline(1024)  # bounded: a binary file may hold no newline at all
        if not header: raise EmbeddingFileError(path, 'file is empty')
        n_words, dim = _vec_header(path, header)
        _check_dim(path, dim, emb_size)
        n = 0
        for ln, line in enumerate(f, 2):
            if line.isspace(): continue
            n += 1
            w, _, rest = line.rstrip('\r\n').partition(' ')
            if w not in idx: continue
            try: v = np.array(rest.split(), dtype=np.float32)
            except ValueError: raise EmbeddingFileError(path, f'line {ln} holds a non-number') from None
            if v.shape != (dim,): raise EmbeddingFileError(path, f'line {ln} has {len(v)} values, not {dim}')
            wgt[idx[w]], kinds[idx[w]] = v, FOUND
    if n != n_words: raise EmbeddingFileError(path, f'header announces {n_words:,} words but the file has {n:,}')
    return wgt, kinds


def _check_dim(path: Path, dim: int, emb_size: int):
    "The file's dimension must be the requested one: a silent change would break the model later."
    if dim != emb_size:
        raise UserError(f'vectors file {path} has dimension {dim} but emb_size={emb_size}; pass emb_size={dim}')


def _from_file(path: Path, itos: Sequence[str], emb_size: int):
    "Vectors and kinds from a `.bin` model (recognised by its magic number) or a `.vec` text file."
    with open(path, 'rb') as f: head = f.read(4)
    if head == struct.pack('<i', _FT_MAGIC) or path.suffix == '.bin':
        _check_dim(path, _check_bin(path), emb_size)
        return _from_model(_load_bin(path), itos)
    return _from_vec(path, itos, emb_size)


# ------------------------------------------------------------------ training
def _write_texts(texts: Iterable, path: Path) -> str:
    "Write one sentence per line (token lists are joined by spaces); return the sha256 of the file."
    h, n = hashlib.sha256(), 0
    with open(path, 'wb') as f:
        for t in texts:
            if not isinstance(t, str): t = ' '.join(t)
            line = (' '.join(t.splitlines()) + '\n').encode('utf-8')
            h.update(line)
            f.write(line)
            n += bool(line.strip())
    if n == 0: raise ValueError('texts holds no words to train fastText on')
    return h.hexdigest()


def _train(path: Path, emb_size: int, epochs: int, threads: int, buckets: int = TRAIN_BUCKETS):
    "Train a skipgram model on the text file at `path`."
    import fasttext
    # fastText 0.9.3's Python binding takes no seed: its own RNG seed is fixed, so a single-thread
    # run repeats up to ~1e-4 (not bit-exact); the cache is what makes reruns identical.
    # On a small corpus fastText's SGD now and then diverges: it stops with "Encountered NaN" or
    # returns vectors of absurd size (seen at 1e17). Such a run is retried at half the rate, on one
    # thread: several threads update the same rows without locks, and on a busy machine a tiny corpus
    # failed that way at every rate (seen once in the test suite)
    lr = 0.05  # fastText's default for unsupervised training
    for attempt in range(4):
        try:
            with _quiet_stderr():
                model = fasttext.train_unsupervised(str(path), model='skipgram', dim=emb_size, minn=MINN,
                                                    maxn=MAXN, minCount=1, epoch=epochs,
                                                    thread=threads if attempt == 0 else 1, lr=lr,
                                                    bucket=buckets, verbose=0)
            if _sane(model) or attempt == 3: return model
        except RuntimeError as e:
            if 'NaN' not in str(e) or attempt == 3: raise
        lr /= 2


def _sane(model, limit: float = 100.0) -> bool:
    "True when the model's word vectors are finite and of a plausible size (a diverged run's are not)."
    vecs = np.stack([model.get_word_vector(w) for w in model.words[:2000]])
    return bool(np.isfinite(vecs).all() and np.abs(vecs).max() < limit)


# ------------------------------------------------------------------ assembly and cache
def _assemble(wgt: np.ndarray, kinds: np.ndarray, pad_idx, seed: int) -> tuple[torch.Tensor, Coverage]:
    "Fill random rows with N(0, std of the fastText rows), zero the pad row, count the kinds."
    w = torch.from_numpy(wgt).float()
    kinds = torch.from_numpy(kinds).clone()
    if pad_idx is not None: kinds[pad_idx] = RANDOM
    known = kinds != RANDOM
    std = w[known].std().item() if known.sum() > 1 else 1 / w.shape[1] ** 0.5
    gen = torch.Generator().manual_seed(seed)
    rnd = torch.randn(w.shape, generator=gen) * std
    w = torch.where(known[:, None], w, rnd)
    if pad_idx is not None: w[pad_idx] = 0.
    cov = Coverage(*(int((kinds == k).sum()) for k in (FOUND, SUBWORD, RANDOM)))
    return w, cov


def _cache_key(itos: Sequence[str], emb_size: int, pad_idx, seed: int, source: dict) -> str:
    "sha256 over everything that decides the weights."
    blob = json.dumps([_CACHE_FORMAT, list(itos), emb_size, pad_idx, seed, source], ensure_ascii=False)
    return hashlib.sha256(blob.encode('utf-8')).hexdigest()


def _load_cache(path: Path, shape: tuple):
    "The cached (weight, Coverage), or None when absent or unreadable."
    if not path.is_file(): return None
    try: d = torch.load(path, weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError): return None
    try: w, cov = d['weight'], Coverage(**d['coverage'])
    except (KeyError, TypeError): return None
    return (w, cov) if tuple(w.shape) == shape else None


def _save_cache(path: Path, weight: torch.Tensor, cov: Coverage):
    "Write the cache atomically: a reader never sees a half-written file."
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: torch.save({'weight': weight, 'coverage': asdict(cov)}, tmp))


def _source(vectors, texts, tmp: Path, epochs: int) -> tuple[dict, Path | None]:
    "Identity of the vectors' source for the cache key; writes `texts` to a file in `tmp`."
    if vectors is not None:
        if not vectors.is_file(): raise FileNotFoundError(f'vectors file {vectors} does not exist')
        st = vectors.stat()
        return {'file': str(vectors.resolve()), 'size': st.st_size, 'mtime': st.st_mtime_ns}, None
    txt = tmp / 'texts.txt'
    sha = _write_texts(texts, txt)
    return {'texts': sha, 'epochs': epochs, 'minn': MINN, 'maxn': MAXN, 'buckets': TRAIN_BUCKETS}, txt


def fasttext_embedding(itos: list[str], *, texts: Iterable[str] | None = None, vectors: str | Path | None = None,
                       emb_size: int = 300, pad_idx: int | None = 1, cache_dir: str | Path | None = None,
                       epochs: int = 10, seed: int = 42, threads: int = 1) -> tuple[nn.Embedding, Coverage]:
    """An `nn.Embedding(len(itos), emb_size, padding_idx=pad_idx)` initialised from fastText.

    Give exactly one of:
    - `vectors`: a fastText `.bin` model (words it does not know get a vector from their character
      n-grams) or a `.vec` text file (`N D` header, then `word v1 .. vD` lines; no n-grams).
      Its dimension must equal `emb_size`, else ValueError. A file that is neither raises
      EmbeddingFileError.
    - `texts`: sentences (strings, or token lists joined by spaces) to train a skipgram model on
      (dim `emb_size`, n-grams of 3 to 6 characters, every word kept, `epochs` epochs on `threads`
      threads; with one thread a rerun differs by ~1e-4 at most, and `cache_dir` makes it exact).

    fastai special tokens, `{{...}}` tag markers and words with no vector get N(0, std) rows, std
    being that of the fastText rows (1/sqrt(emb_size) if there are none), drawn with `seed`; the
    `pad_idx` row is zeros (counted as random). With `cache_dir`, the result is stored there as
    `emb-<16 hex digits>.pt`, keyed on `itos`, `emb_size`, `pad_idx`, `seed` and the source (file
    path, size and mtime, or the texts and training settings), so a rerun neither retrains nor
    rereads the vectors.
    Returns the embedding (weight `(len(itos), emb_size)`) and its Coverage.
    """
    if (texts is None) == (vectors is None): raise ValueError('give exactly one of texts= or vectors=')
    vectors = None if vectors is None else Path(vectors)
    with tempfile.TemporaryDirectory() as tmp:
        source, txt = _source(vectors, texts, Path(tmp), epochs)
        key = _cache_key(itos, emb_size, pad_idx, seed, source)
        cache = None if cache_dir is None else Path(cache_dir) / f'emb-{key[:16]}.pt'
        res = None if cache is None else _load_cache(cache, (len(itos), emb_size))
        if res is None:
            if vectors is not None: wgt, kinds = _from_file(vectors, itos, emb_size)
            else: wgt, kinds = _from_model(_train(txt, emb_size, epochs, threads), itos)
            res = _assemble(wgt, kinds, pad_idx, seed)
            if cache is not None: _save_cache(cache, *res)
    # from_pretrained, not nn.Embedding(...): no throw-away init drawing on the global RNG
    return nn.Embedding.from_pretrained(res[0], freeze=False, padding_idx=pad_idx), res[1]


def subword_table(texts: Iterable[str], *, dim: int = 64, buckets: int = 100_000, epochs: int = 10,
                  cache_dir: str | Path | None = None, threads: int = 1) -> torch.Tensor:
    """The n-gram rows (buckets, dim) of a skipgram fastText model trained on `texts` (n-grams of
    3 to 6 characters, every word kept): with `features.subword_vectors` they give a vector to any
    string. Cached in `cache_dir` as `ngrams-<16 hex digits>.pt`, keyed on the texts and settings."""
    with tempfile.TemporaryDirectory() as tmp:
        txt = Path(tmp) / 'texts.txt'
        key = _cache_key([], dim, None, 0, {'texts': _write_texts(texts, txt), 'epochs': epochs, 'minn': MINN,
                                            'maxn': MAXN, 'buckets': buckets, 'table': 'ngrams'})
        cache = None if cache_dir is None else Path(cache_dir) / f'ngrams-{key[:16]}.pt'
        if cache is not None and cache.is_file():
            try: return torch.load(cache, weights_only=True)
            except (OSError, RuntimeError, EOFError, ValueError): pass
        model = _train(txt, dim, epochs, threads, buckets)
        tab = torch.from_numpy(model.get_input_matrix()[len(model.words):].copy()).float()
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cache, lambda p: torch.save(tab, p))
    return tab
