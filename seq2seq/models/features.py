"""Source-token features computed from the token's string alone: fastText sub-word vectors and word shape.

fastText builds a word's vector from the rows of its input matrix: the word's own row (words of
its dictionary) and one row per character n-gram of `<word>` (lengths minn..maxn), found by
hashing the n-gram's UTF-8 bytes (FNV-1a, 32 bits, each byte read as a *signed* char) into
`bucket` rows stored after the `nwords` word rows. `ngram_rows` and `word_vector` redo that in
Python/torch, so a model can keep just the n-gram rows (a tensor in its state_dict) and still give
a vector to any string, without the fasttext library at prediction time.

`word_shape` maps a token to a small id: capitalisation, digits, punctuation and length class.
`char_ids` spells a token as ids of a fixed character table (no vocabulary: any string has them).
"""
from functools import lru_cache
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from .emb import is_random_token

__all__ = ["fnv1a", "ngram_rows", "word_vector", "subword_vectors", "word_shape", "N_SHAPES", "char_ids", "N_CHARS"]

_FNV_OFFSET, _FNV_PRIME, _MASK = 2166136261, 16777619, 0xFFFFFFFF


def fnv1a(data: bytes) -> int:
    "fastText's 32-bit FNV-1a hash: each byte is sign-extended (a C++ `int8_t` cast to `uint32_t`)."
    h = _FNV_OFFSET
    for b in data:
        h = ((h ^ (b | 0xFFFFFF00 if b >= 0x80 else b)) * _FNV_PRIME) & _MASK
    return h


@lru_cache(maxsize=1 << 17)  # prediction hashes the same unseen words batch after batch
def ngram_rows(word: str, bucket: int, minn: int = 3, maxn: int = 6) -> tuple[int, ...]:
    """Bucket indices (0..bucket-1, before fastText's `nwords` offset) of the character n-grams of
    `<word>` with minn..maxn characters, in fastText's order (`Dictionary::computeSubwords`)."""
    if bucket <= 0 or maxn <= 0: return ()
    chars = [c.encode("utf-8") for c in "<" + word + ">"]
    res = []
    for i in range(len(chars)):
        for n in range(1, maxn + 1):
            j = i + n
            if j > len(chars): break
            # fastText skips 1-grams of the boundary characters; minn >= 2 skips every 1-gram anyway
            if n >= minn and not (n == 1 and (i == 0 or j == len(chars))):
                res.append(fnv1a(b"".join(chars[i:j])) % bucket)
    return tuple(res)


def word_vector(word: str, ngrams: torch.Tensor, word_row: Optional[torch.Tensor] = None,
                minn: int = 3, maxn: int = 6) -> torch.Tensor:
    """fastText's `get_word_vector`: the mean of the word's own row (`word_row`, for a word of the
    dictionary) and its n-gram rows of `ngrams` (bucket, dim). Zeros when there is no row at all."""
    rows = ngrams[list(ngram_rows(word, len(ngrams), minn, maxn))].float()
    if word_row is not None: rows = torch.cat([word_row.float()[None], rows])
    return rows.mean(0) if len(rows) else ngrams.new_zeros(ngrams.size(1), dtype=torch.float)


def subword_vectors(words: Sequence[str], ngrams: torch.Tensor, minn: int = 3, maxn: int = 6) -> torch.Tensor:
    "N-gram-only fastText vectors (len(words), dim) of many words at once (one `embedding_bag`)."
    ids, offsets = [], []
    for w in words:
        offsets.append(len(ids))
        ids += ngram_rows(w, len(ngrams), minn, maxn)
    if not words: return ngrams.new_zeros(0, ngrams.size(1), dtype=torch.float)
    # only the rows used are made float, not the whole (half) table: per batch of a few hundred
    # words that conversion was most of the cost
    ids = torch.tensor(ids, dtype=torch.long, device=ngrams.device)
    return F.embedding_bag(torch.arange(len(ids), device=ngrams.device), ngrams[ids].float(),
                           torch.tensor(offsets, dtype=torch.long, device=ngrams.device), mode="mean")


_CAPS, _DIGITS, _PUNCT, _LENS = 5, 3, 2, 4
N_SHAPES = _CAPS * _DIGITS * _PUNCT * _LENS + 1  # +1: fastai specials, markers, whitespace


def word_shape(tok: str) -> int:
    """A small id for the look of `tok`: capitalisation (none, lower, Title, UPPER, mixed) x
    digits (none, some, all) x punctuation (none, some) x length (1, 2-3, 4-6, 7+); the last id
    is for fastai specials (`xx...`), `{{...}}` markers and whitespace."""
    if tok == "" or tok.isspace() or is_random_token(tok): return N_SHAPES - 1
    letters = [c for c in tok if c.isalpha()]
    if not letters: cap = 0
    elif all(c.islower() for c in letters): cap = 1
    elif letters[0].isupper() and all(c.islower() for c in letters[1:]): cap = 2
    elif all(c.isupper() for c in letters): cap = 3
    else: cap = 4
    nd = sum(c.isdigit() for c in tok)
    dig = 0 if nd == 0 else 2 if nd == len(tok) else 1
    pun = int(any(not c.isalnum() for c in tok))
    n = len(tok)
    ln = 0 if n == 1 else 1 if n <= 3 else 2 if n <= 6 else 3
    return ((cap * _DIGITS + dig) * _PUNCT + pun) * _LENS + ln


N_CHARS = 256  # character ids: 0 pad, 1 start of word, 2 end of word, then code points modulo the rest
_BOW, _EOW = 1, 2  # 0 pads


def char_ids(words: Sequence[str], max_len: int = 20) -> torch.Tensor:
    """(len(words), max_len + 2) character ids of each word between start and end marks, padded
    with 0. A longer word keeps its first and last max_len // 2 characters (prefixes and suffixes
    are what tell word classes apart); code points share ids modulo N_CHARS - 3."""
    res = torch.zeros(len(words), max_len + 2, dtype=torch.long)
    half = max_len // 2
    for i, w in enumerate(words):
        if len(w) > max_len: w = w[:half] + w[-(max_len - half):]
        ids = [_BOW] + [3 + ord(c) % (N_CHARS - 3) for c in w] + [_EOW]
        res[i, :len(ids)] = torch.tensor(ids)
    return res
