"""The faithful rules: decoding may only copy the next source token, open a tag (none open, a token
left), close the open tag (at least one token inside) or end (source consumed, no tag open).

Written once and read by both sides: `faithful_moves`/`faithful_states` give the aligned model's
candidate loss its legal moves along a gold target (models/aligned.py), and `FaithfulConstraint`
masks every decoder's steps (decoding/search.py), so training scores exactly the choices decoding
makes.
"""
from typing import NamedTuple, Sequence

import torch
from torch import Tensor

__all__ = ["faithful_moves", "faithful_states", "FaithfulState", "FaithfulConstraint", "check_faithful"]


def faithful_moves(has_next: Tensor, tag: Tensor, n_in: Tensor):
    """The faithful rules, shared by decoding (`FaithfulConstraint`) and training (the candidate
    loss of seq2seq/models/aligned.py): which moves are legal in a state.

    has_next: a source token is left to copy; tag: id of the open marker, -1 when none; n_in:
    tokens copied since it opened (all the same shape). Returns bool tensors (copy, open, close,
    eos): copy the next source token; open any tag (none open, a token left); close the open tag
    (at least one token inside); end (source consumed, no tag open).
    """
    free = tag < 0
    return has_next, free & has_next, ~free & (n_in > 0), free & ~has_next


def _exclusive_cumsum(x: Tensor) -> Tensor:
    "Counts of True before each position along dim 1."
    c = x.long().cumsum(1)
    return c - x.long()


def faithful_states(tgt: Tensor, is_open: Tensor, is_close: Tensor, eos_idx: int, pad_idx: int):
    """The constraint's state before each position of gold targets, computed at once (training).

    tgt: (bs, tl) target ids (no BOS; EOS then padding); is_open, is_close: (V,) bool tables of
    the marker ids. Returns `(nxt, ptr, tag, n_in)`, each (bs, tl): the next source token still
    to copy as a target id (-1 when none), tokens copied so far, the open marker (-1 when none),
    tokens copied since it opened. Copies are the target ids that are no marker, EOS or pad.
    """
    bs, tl = tgt.shape
    op, cl = is_open[tgt], is_close[tgt]
    cp = (tgt != eos_idx) & (tgt != pad_idx) & ~op & ~cl
    pos = torch.arange(tl, device=tgt.device).expand(bs, tl)
    nxt_pos = torch.where(cp, pos, tl).flip(1).cummin(1).values.flip(1)   # first copy at or after t
    nxt = tgt.gather(1, nxt_pos.clamp(max=tl - 1)).masked_fill(nxt_pos >= tl, -1)
    ptr = _exclusive_cumsum(cp)
    last_open = torch.where(op, pos, -1).cummax(1).values                  # at or before t
    last_open = torch.cat([last_open.new_full((bs, 1), -1), last_open[:, :-1]], 1)  # before t
    free = _exclusive_cumsum(op) <= _exclusive_cumsum(cl)
    lo = last_open.clamp(min=0)
    tag = torch.where(free, -1, tgt.gather(1, lo))
    n_in = torch.where(free, 0, ptr - ptr.gather(1, lo))
    return nxt, ptr, tag, n_in


class FaithfulState(NamedTuple):
    "Per-row state of FaithfulConstraint; all (rows,) LongTensors."
    sent: Tensor    # sentence of the batch that the row decodes
    ptr: Tensor     # source tokens copied so far
    tag: Tensor     # id of the open marker, -1 when none
    n_in: Tensor    # tokens copied since that marker opened


class FaithfulConstraint:
    """Decode only the source again, with well-formed tags: at each step the allowed ids are
    the next source token (if any left); any opening marker (no tag open, a source token
    left); the open tag's closing marker (at least one token copied since it opened); EOS
    (source consumed, no tag open). When an id could mean both copy and marker (a source
    token equal to a marker id), it is read as the copy.

    copy_ids[i]: sentence i's source tokens as TARGET ids (unknown -> 0), no BOS/EOS/pad.
    open_to_close: opening marker id -> its closing marker id.
    allow_tags=False: pure copy, then EOS.
    """

    def __init__(self, copy_ids: Sequence[Sequence[int]], open_to_close: dict[int, int],
                 eos_idx: int, vocab_size: int, allow_tags: bool = True):
        self.copy_ids = [[int(i) for i in c] for c in copy_ids]
        self.open_to_close = {int(o): int(c) for o, c in open_to_close.items()}
        self.eos_idx, self.vocab_size, self.allow_tags = int(eos_idx), int(vocab_size), allow_tags
        self._check()
        T = max(map(len, self.copy_ids), default=0) + 1       # +1: a -1 column after every sentence
        copy = torch.tensor([c + [-1] * (T - len(c)) for c in self.copy_ids], dtype=torch.long).view(-1, T)
        opens = list(self.open_to_close) if allow_tags else []
        close = torch.full((vocab_size,), -1, dtype=torch.long)
        close[opens] = torch.tensor([self.open_to_close[o] for o in opens], dtype=torch.long)
        is_open = torch.zeros(vocab_size, dtype=torch.bool)
        is_open[opens] = True
        open_col = torch.cat([is_open, is_open.new_zeros(1)])   # with a column V that `allowed` cuts off
        self._tab = dict(copy=copy, close=close, is_open=is_open, open_col=open_col)

    def compact(self, specials: Sequence[int] = ()) -> tuple[list[int], "FaithfulConstraint"]:
        """The ids this constraint can ever allow (copies, markers, EOS) plus `specials`, sorted,
        and the same constraint over positions in that list (see `generate`)."""
        o2c = self.open_to_close
        cols = sorted({i for c in self.copy_ids for i in c} | set(o2c) | set(o2c.values()) | {self.eos_idx}
                      | {int(i) for i in specials})
        pos = {t: i for i, t in enumerate(cols)}
        return cols, FaithfulConstraint([[pos[i] for i in c] for c in self.copy_ids],
                                        {pos[o]: pos[c] for o, c in o2c.items()}, pos[self.eos_idx], len(cols),
                                        self.allow_tags)

    def _check(self):
        "Raise ValueError on ids outside the vocabulary or EOS used as a token or marker."
        V, opens, closes = self.vocab_size, set(self.open_to_close), set(self.open_to_close.values())
        ids = {i for c in self.copy_ids for i in c} | opens | closes | {self.eos_idx}
        if any(not 0 <= i < V for i in ids): raise ValueError(f"ids must be in [0, {V})")
        if self.eos_idx in {i for c in self.copy_ids for i in c} | opens | closes:
            raise ValueError(f"EOS id {self.eos_idx} cannot be a source token or a marker")
        if opens & closes: raise ValueError(f"ids {sorted(opens & closes)} are both opening and closing markers")

    def init(self, device) -> FaithfulState:
        "Start state, one row per sentence, on `device` (moves the lookup tables there too)."
        self._tab = {k: v.to(device) for k, v in self._tab.items()}
        z = torch.zeros(len(self.copy_ids), dtype=torch.long, device=device)
        return FaithfulState(torch.arange(len(z), device=device), z, z - 1, z)

    def _next(self, cs: FaithfulState) -> Tensor:
        "Next source id of each row (rows,), -1 once all are copied."
        return self._tab["copy"][cs.sent, cs.ptr]

    def allowed(self, cs: FaithfulState) -> Tensor:
        "Bool mask (rows, vocab_size) of the ids each row may emit next."
        nxt = self._next(cs)
        copy_ok, open_ok, close_ok, eos_ok = faithful_moves(nxt >= 0, cs.tag, cs.n_in)
        close = self._tab["close"][cs.tag.clamp(min=0)]
        # the id each of the moves copy, close, end names; V (a column cut off below) where not allowed
        ids = torch.stack([nxt, close, torch.full_like(nxt, self.eos_idx)], 1)
        ids = ids.masked_fill(~torch.stack([copy_ok, close_ok, eos_ok], 1), self.vocab_size)
        ok = self._tab["open_col"] & open_ok[:, None]                      # (rows, V+1) the opening markers
        return ok.scatter_(1, ids, True)[:, :self.vocab_size]

    def advance(self, cs: FaithfulState, tokens: Tensor) -> FaithfulState:
        "State after each row emitted `tokens` (rows,); ids that are no allowed action change nothing."
        nxt, free = self._next(cs), cs.tag < 0
        copy = (nxt >= 0) & (tokens == nxt)
        close = ~copy & ~free & (cs.n_in > 0) & (tokens == self._tab["close"][cs.tag.clamp(min=0)])
        opn = ~copy & free & (nxt >= 0) & self._tab["is_open"][tokens]
        tag = torch.where(opn, tokens, torch.where(close, -1, cs.tag))
        n_in = torch.where(opn | close, 0, cs.n_in + (copy & ~free).long())
        return FaithfulState(cs.sent, cs.ptr + copy.long(), tag, n_in)

    def select(self, cs: FaithfulState, idx: Tensor) -> FaithfulState:
        "Rows `idx` (n,) of the state (reorder or repeat, for beams and samples)."
        return FaithfulState(*(x[idx] for x in cs))

    def min_steps(self) -> list[int]:
        "Steps that always suffice to finish each sentence: n copies + 2 markers per copy + EOS."
        per = 3 if self.allow_tags and self.open_to_close else 1
        return [per * len(c) + 1 for c in self.copy_ids]


def check_faithful(tokens: Sequence[int], copy_ids: Sequence[int], open_to_close: dict[int, int]) -> bool:
    """True when `tokens` (no EOS) is `copy_ids` in order, with tags that are unnested,
    non-empty, closed by their own marker and all closed at the end; read the way
    FaithfulConstraint reads ids (a copy wins over a marker with the same id)."""
    p, tag, n = 0, None, 0
    for tok in tokens:
        if p < len(copy_ids) and tok == copy_ids[p]: p, n = p + 1, n + 1
        elif tag is not None and n > 0 and tok == open_to_close[tag]: tag = None
        elif tag is None and p < len(copy_ids) and tok in open_to_close: tag, n = tok, 0
        else: return False
    return p == len(copy_ids) and tag is None
