"""Over-long texts are decoded in windows, so cost grows linearly with length, not with its square.

A text of more than `max_tokens` tokens (counted cheaply: runs of letters or digits and single
other characters, about what the tokenizer makes) is cut at whitespace into windows of at most
that many; each window is decoded alone and the outputs are joined. Faithfulness is kept: each
window's output without its tags is that window, so the joined output without its tags is the
text. Cuts fall only in whitespace (or, in a single over-long word, between two characters that
are not equal braces: a window may then run past the limit by a run of braces), so no escape
(`tags.escape_text`) is cut in two.
"""
import re
from typing import Callable, List, Sequence

__all__ = ["MAX_TOKENS", "count_tokens", "split_windows", "restore_windowed"]

MAX_TOKENS = 2000  # generous: sentences and paragraphs decode whole (decode.DecodeConfig.max_tokens)
_TOK = re.compile(r"[^\W_]+|\S", re.S)


def count_tokens(text: str) -> int:
    "About how many tokens `text` makes (runs of letters/digits, single other non-space characters)."
    return sum(1 for _ in _TOK.finditer(text))


def _cut(text: str, starts: List[int], i: int, max_tokens: int) -> int:
    "Where the window of tokens `i`.. ends: at the last whitespace before token `i + max_tokens`."
    j = min(i + max_tokens, len(starts))
    if j == len(starts): return len(text)
    for k in range(j, i, -1):  # a whitespace gap before token k, after the previous token
        if text[starts[k] - 1].isspace(): return starts[k]
    k = j  # one over-long word: cut inside it, but never between two equal braces (past their run)
    while k < len(starts) and text[starts[k] - 1] == text[starts[k]] and text[starts[k]] in "{}": k += 1
    return starts[k] if k < len(starts) else len(text)


def split_windows(text: str, max_tokens: int) -> List[str]:
    "Pieces of `text`, in order and joined giving `text`, of at most about `max_tokens` tokens each."
    starts = [m.start() for m in _TOK.finditer(text)]
    if len(starts) <= max_tokens: return [text]
    res, pos, i = [], 0, 0
    while i < len(starts):
        end = _cut(text, starts, i, max_tokens)
        res.append(text[pos:end])
        pos = end
        while i < len(starts) and starts[i] < end: i += 1
    res[-1] += text[pos:]
    return res


def restore_windowed(restore: Callable, texts: Sequence[str], max_tokens: int, n_best: int,
                     with_scores: bool):
    """`restore(windows, with_scores=True, n_best=n_best)` on the windows of `texts`, joined back.

    A windowed text gets one hypothesis: the best of each window joined, scored by their sum.
    """
    wins = [split_windows(t, max_tokens) for t in texts]
    flat = [w for ws in wins for w in ws]
    out = restore(flat, with_scores=True, n_best=n_best)
    res, k = [], 0
    for ws in wins:
        part = out[k:k + len(ws)]
        k += len(ws)
        res.append(part[0] if len(ws) == 1 else [("".join(p[0][0] for p in part), sum(p[0][1] for p in part))])
    if with_scores or n_best > 1: return res
    return [r[0][0] for r in res]
