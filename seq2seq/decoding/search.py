"""The one generate loop (greedy, top-k, nucleus, beam) over the pick rules of `decoding.pick`.

Every decoder runs the same step (`_Stepper.logp`): `model.step` -> temperature -> masks
(pad, BOS, min length, constraint, all built in `_Stepper.allowed`) -> log-softmax.
Greedy, top-k and nucleus differ only in the pick rule that turns those log-probabilities
into ids; beam search keeps the `beam_size` best prefixes of each sentence and reorders
model state, constraint state and histories through one `_Stepper.select`.

The model needs only `bos_idx, eos_idx, pad_idx`, `encode(src) -> state`,
`step(dec_inp, state) -> (logits, state)`, `select_state(state, idx) -> state` and
`parameters()` (for the device). Under a FaithfulConstraint the search runs over the few ids the
constraint can allow (`_Columns`); a model with `step_columns(dec_inp, state, cols)` then computes
the logits of those ids only instead of the whole vocabulary's. `generate` does not switch
train/eval mode: put the model in eval mode first, or dropout stays on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import math
from functools import partial
from typing import Callable, NamedTuple, Optional, Sequence

import torch
from torch import Tensor

from ..models.faithful import FaithfulConstraint
from .config import DecodeConfig, decode_config
from .pick import NEG_INF, apply_temperature, gnmt_penalty, greedy_pick, mask_logits, top_k_pick, top_p_pick

__all__ = ["Hypothesis", "generate"]


@dataclass
class Hypothesis:
    """One decoded sentence.

    tokens: target ids, without BOS and EOS.
    score: sum of the log-probabilities of the picked ids, EOS included, under the
        distribution the decoder picked from (after temperature and masks).
    norm_score: `score / gnmt_penalty(steps, alpha)` with steps = len(tokens) + finished;
        lists of hypotheses are sorted by it, best first (equals `score` when alpha=0).
    finished: True when EOS was emitted, False when cut at the length limit.
    token_logp: the log-probability of each id of `tokens` under that same distribution
        (so `score` is their sum plus EOS's); what span scores are built from.
    """
    tokens: list[int]
    score: float
    norm_score: float
    finished: bool = True
    token_logp: list[float] = field(default_factory=list)


# ---------------------------------------------------------------- the one decoding step

class _Rows(NamedTuple):
    "Everything kept per decoding row (sentence x beam/sample)."
    state: object           # model state, opaque
    cst: object             # constraint state, or None
    hist: Tensor            # (rows, T) ids emitted so far, pad after
    lp: Tensor              # (rows, T) log-probability of each emitted id, 0 after


def _any_rows(mask: Tensor) -> Tensor:
    "(rows,) True where the bool mask (rows, V) has a True; as `mask.any(1)`, which on CPU costs ~10x more."
    return mask.view(torch.uint8).amax(1).bool()


class _Stepper:
    "The step shared by all decoders: model step, temperature, masks, log-softmax; row selection."

    def __init__(self, model, constraint, min_len: int, temperature: float):
        self.m, self.con, self.min_len, self.temp = model, constraint, min_len, temperature
        self.eos, self.pad, self.bos = model.eos_idx, model.pad_idx, model.bos_idx
        self.banned = sorted({self.pad, self.bos} - {self.eos})

    def start(self, src: Tensor, idx: Tensor, T: int) -> _Rows:
        "Encode `src` (bs, sl) and lay its state out on rows `idx` (rows,), T steps of history."
        cst = None if self.con is None else self.con.init(src.device)
        hist = src.new_full((len(src), T), self.pad)
        lp = torch.zeros(len(src), T, device=src.device)
        return self.select(_Rows(self.m.encode(src), cst, hist, lp), idx)

    def select(self, rows: _Rows, idx: Tensor) -> _Rows:
        "Keep, reorder or repeat rows `idx` of model state, constraint state and history."
        cst = None if rows.cst is None else self.con.select(rows.cst, idx)
        return _Rows(self.m.select_state(rows.state, idx), cst, rows.hist[idx], rows.lp[idx])

    def allowed(self, rows: _Rows, t: int, V: int) -> Tensor:
        "Bool mask (rows, V) of the ids that may be emitted at step `t`: every mask lives here."
        if rows.cst is None:
            ok = torch.ones(len(rows.hist), V, dtype=torch.bool, device=rows.hist.device)
            ok[:, self.banned] = False
        else:   # the constraint's mask, which must ban pad/BOS itself (checked): no mask of ones to AND with
            ok = self.con.allowed(rows.cst).clone()   # a copy: changed in place below
            if ok.shape != (len(rows.hist), V):
                raise ValueError(f"constraint mask has shape {tuple(ok.shape)}, model logits {(len(rows.hist), V)}")
            if ok[:, self.banned].any():   # else masked away, and the row would end unfaithfully
                raise ValueError(f"constraint allows pad/BOS ids {self.banned}; map such source tokens elsewhere")
        if t < self.min_len:     # no EOS yet, unless it is the only way out (e.g. a constraint)
            no_eos = ok.clone()
            no_eos[:, self.eos] = False
            ok = torch.where(_any_rows(no_eos)[:, None], no_eos, ok)
        ok[:, self.eos] |= ~_any_rows(ok)   # a row with nothing allowed may still end
        return ok

    def logp(self, inp: Tensor, rows: _Rows, t: int) -> tuple[Tensor, _Rows]:
        "Log-probabilities (rows, V) of the next id after `inp` (rows,), and the advanced rows."
        logits, state = self.m.step(inp, rows.state)
        ok = self.allowed(rows, t, logits.size(-1))
        logits = mask_logits(apply_temperature(logits.float(), self.temp), ok)
        return logits.log_softmax(-1), rows._replace(state=state)

    def emit(self, rows: _Rows, ids: Tensor, t: int, lp: Tensor) -> _Rows:
        "Record `ids` (rows,) and their log-probabilities `lp` (rows,) as step `t`; advance the constraint."
        rows.hist[:, t] = ids
        rows.lp[:, t] = lp
        return rows if rows.cst is None else rows._replace(cst=self.con.advance(rows.cst, ids))


# ---------------------------------------------------------------- searches

def _sample_search(st: _Stepper, src: Tensor, lims: Tensor, pick: Callable, n: int):
    """Greedy/top-k/nucleus on `n` rows per sentence; returns history and token log-probs (bs*n, T),
    scores, ended flags. A row leaves the batch when it ends (EOS or its length limit)."""
    idx = torch.arange(len(src), device=src.device).repeat_interleave(n)
    lim = lims[idx]
    rows = st.start(src, idx, int(lim.max()))
    hist, lps = rows.hist.clone(), rows.lp.clone()     # every row's result (pad, 0 after its end)
    score, ended = torch.zeros(len(idx), device=src.device), torch.zeros(len(idx), dtype=torch.bool, device=src.device)
    # `rows` holds the live rows only, `live` their numbers: a finished row costs no more steps
    live, sc, inp = torch.arange(len(idx), device=src.device), score.clone(), torch.full_like(idx, st.bos)
    for t in range(hist.size(1)):
        logp, rows = st.logp(inp, rows, t)
        ids = pick(logp)
        lp = logp.gather(1, ids[:, None]).squeeze(1)
        sc += lp
        rows = st.emit(rows, ids, t, lp)
        eos = ids == st.eos
        fin = eos | (t + 1 >= lim)
        if fin.any():
            out = live[fin]
            hist[out], lps[out], score[out], ended[out] = rows.hist[fin], rows.lp[fin], sc[fin], eos[fin]
            keep = torch.nonzero(~fin).squeeze(1)
            if len(keep) == 0: break
            rows, live, sc, lim, ids = st.select(rows, keep), live[keep], sc[keep], lim[keep], ids[keep]
        inp = ids
    return hist, lps, score, ended


class _Pool:
    "The `n` best finished hypotheses of each sentence (by penalised score), kept as tensors."

    def __init__(self, bs: int, n: int, T: int, pad: int, device):
        self.n = n
        self.norm = torch.full((bs, n), NEG_INF, device=device)
        self.raw = self.norm.clone()
        self.ended = torch.zeros(bs, n, dtype=torch.bool, device=device)
        self.tok = torch.full((bs, n, T), pad, dtype=torch.long, device=device)
        self.lp = torch.zeros(bs, n, T, device=device)

    def add(self, raw: Tensor, tok: Tensor, lp: Tensor, ended: bool, steps: int, alpha: float):
        "Offer hypotheses with scores `raw` (bs, m) (-inf: none), ids `tok` (bs, m, T) and their log-probs `lp`."
        norm = torch.cat([self.norm, raw / gnmt_penalty(steps, alpha)], 1)
        self.norm, i = norm.topk(self.n, dim=1)
        self.raw = torch.cat([self.raw, raw], 1).gather(1, i)
        self.ended = torch.cat([self.ended, torch.full_like(raw, ended, dtype=torch.bool)], 1).gather(1, i)
        tok, lp, ix = torch.cat([self.tok, tok], 1), torch.cat([self.lp, lp], 1), i[..., None].expand(-1, -1, tok.size(2))
        self.tok, self.lp = tok.gather(1, ix), lp.gather(1, ix)

    def settled(self, beam: Tensor, steps: int, alpha: float) -> Tensor:
        """(bs,) True where the pool is full and no live beam, scored at its current length,
        beats its worst member (exact for alpha=0, as log-probs only add negative terms)."""
        return self.norm[:, -1] >= beam.max(1).values / gnmt_penalty(steps, alpha)


def _beam_search(st: _Stepper, src: Tensor, lims: Tensor, K: int, n_best: int, alpha: float) -> _Pool:
    "Batched beam search over all sentences; returns the pool of finished hypotheses."
    bs, dev, T = len(src), src.device, int(lims.max())
    rows = st.start(src, torch.arange(bs, device=dev).repeat_interleave(K), T)
    beam = torch.full((bs, K), NEG_INF, device=dev)
    beam[:, 0] = 0.                     # only the first beam is live, so beams don't duplicate
    pool, done = _Pool(bs, n_best, T, st.pad, dev), torch.zeros(bs, dtype=torch.bool, device=dev)
    base, inp = torch.arange(bs, device=dev)[:, None] * K, torch.full((bs * K,), st.bos, device=dev)
    for t in range(T):
        logp, rows = st.logp(inp, rows, t)
        V = logp.size(1)
        cand = (beam.view(-1, 1) + logp).view(bs, -1)
        # a row whose allowed ids all have -inf logits gets NaN log-probs, and topk ranks NaN first:
        # such a beam is dead, not the best one
        cand = cand.masked_fill(cand.isnan(), NEG_INF)
        top, pos = cand.topk(min(2 * K, K * V), dim=1)                                # (bs, 2K)
        row, tok, tlp = base + pos // V, pos % V, logp.view(bs, -1).gather(1, pos)   # (bs, 2K) each
        # EOS ranked among the K best candidates finishes a hypothesis; the K best others go on
        eos = (tok[:, :K] == st.eos) & ~done[:, None]
        pool.add(top[:, :K].masked_fill(~eos, NEG_INF), rows.hist[row[:, :K]], rows.lp[row[:, :K]], True, t + 1, alpha)
        beam, keep = top.masked_fill(tok == st.eos, NEG_INF).topk(K, dim=1)
        inp = tok.gather(1, keep).view(-1)
        rows = st.emit(st.select(rows, row.gather(1, keep).view(-1)), inp, t, tlp.gather(1, keep).view(-1))
        last = (t + 1 >= lims) & ~done      # length limit: live beams finish as they are
        pool.add(beam.masked_fill(~last[:, None], NEG_INF), rows.hist.view(bs, K, T), rows.lp.view(bs, K, T),
                 False, t + 1, alpha)
        done |= last | pool.settled(beam, t + 1, alpha)
        if done.all(): break
        beam = beam.masked_fill(done[:, None], NEG_INF)
    return pool


# ---------------------------------------------------------------- generate

def _cut(ids: list[int], stops: set[int]) -> list[int]:
    "Ids up to the first one in `stops` (EOS or pad)."
    for i, x in enumerate(ids):
        if x in stops: return ids[:i]
    return ids


def _hyps(hist: Tensor, lp: Tensor, score: Tensor, ended: Tensor, n: int, alpha: float, stops: set[int]):
    """Group rows (bs*n, T) into per-sentence lists of Hypothesis, best norm_score first; drops rows
    whose score is not finite (-inf: none; NaN: a dead end)."""
    res = [[] for _ in range(len(hist) // n)]
    for i, (ids, lps, sc, e) in enumerate(zip(hist.tolist(), lp.tolist(), score.tolist(), ended.tolist())):
        if not math.isfinite(sc): continue
        ids = _cut(ids, stops)
        res[i // n].append(Hypothesis(ids, sc, sc / gnmt_penalty(len(ids) + e, alpha), e, lps[:len(ids)]))
    return [sorted(h, key=lambda h: -h.norm_score) for h in res]


def _limits(src: Tensor, pad_idx: int, max_len, src_lens, constraint) -> Tensor:
    "Per-sentence step limit (bs,): max_len, or 2 * source length + 10; raised to what a constraint needs."
    if src_lens is None: sl = src.ne(pad_idx).sum(1)
    else: sl = torch.as_tensor(src_lens, dtype=torch.long, device=src.device).view(-1)
    if len(sl) != len(src): raise ValueError(f"src_lens has {len(sl)} entries for {len(src)} sentences")
    lim = 2 * sl + 10 if max_len is None else torch.full_like(sl, max_len)
    if constraint is None: return lim
    need = torch.as_tensor(constraint.min_steps(), dtype=torch.long, device=src.device)
    if need.shape != lim.shape:
        raise ValueError(f"constraint covers {len(need)} sentences, src has {len(src)}")
    return torch.maximum(lim, need)


def _picker(decoder: str, top_k: int, top_p: float, seed: Optional[int], device) -> Callable:
    "The pick rule of a non-beam decoder; samplers get a generator seeded with `seed` on `device`."
    if decoder == "greedy": return greedy_pick
    gen = torch.Generator(device=device)
    if seed is None: gen.seed()
    else: gen.manual_seed(seed)
    if decoder == "topk": return partial(top_k_pick, k=top_k, generator=gen)
    return partial(top_p_pick, p=top_p, generator=gen)


def generate(model, src: Tensor, cfg: Optional[DecodeConfig] = None, *, constraint=None, src_lens=None,
             **options) -> list[list[Hypothesis]]:
    """Decode a batch of source sentences; returns, per sentence, hypotheses best first.

    model: see the module docstring; decoding runs on its device, without gradients.
    src: (bs, sl) LongTensor of source ids, padded with `model.pad_idx`.
    cfg: a `DecodeConfig`; `options` (its field names, e.g. `decoder="beam", beam_size=4`)
        replace its fields, or build one when `cfg` is None. The fields used here:
        decoder: "greedy", "topk" (sample among the `top_k` best), "nucleus" (sample within
            mass `top_p`) or "beam" (`beam_size` beams, `n_best` <= beam_size hypotheses back).
            Greedy returns one hypothesis per sentence; "topk" and "nucleus" return `n_best`
            independent samples, sorted by norm_score (n_best may exceed beam_size there).
            Beam returns fewer than `n_best` when fewer hypotheses exist (e.g. under a constraint).
        max_len: most decoding steps per sentence (EOS counts as a step); default
            `2 * src_len + 10` with src_len the non-pad source tokens (or `src_lens`, (bs,)).
            With a constraint the limit is raised to `constraint.min_steps()`, since a cut
            output cannot satisfy it.
        min_len: EOS is masked until this many ids are out (unless nothing else is allowed).
        temperature: logits are divided by it before masks and softmax, for every decoder.
        length_penalty: GNMT alpha; beam hypotheses are ranked by `score / gnmt_penalty(steps, alpha)`.
        seed: seeds the sampling generator (None: nondeterministic).
    constraint: e.g. FaithfulConstraint, giving allowed ids per row (applied before the pick).
    """
    c = decode_config(cfg, **options)
    if src.dim() != 2: raise ValueError(f"src must be (bs, sl), got shape {tuple(src.shape)}")
    if len(src) == 0: return []
    dev = next(model.parameters()).device
    src = src.to(dev)
    lims = _limits(src, model.pad_idx, c.max_len, src_lens, constraint)
    cols = None
    if isinstance(constraint, FaithfulConstraint):  # search over the few ids it can allow, not the vocabulary
        cols, constraint = constraint.compact((model.bos_idx, model.pad_idx))
        model = _Columns(model, cols)
    st, stops = _Stepper(model, constraint, c.min_len, c.temperature), {model.eos_idx, model.pad_idx}
    alpha = c.length_penalty
    with torch.no_grad():
        if c.decoder == "beam":
            pool = _beam_search(st, src, lims, c.beam_size, c.n_best, alpha)
            res = _hyps(pool.tok.flatten(0, 1), pool.lp.flatten(0, 1), pool.raw.flatten(), pool.ended.flatten(),
                        c.n_best, alpha, stops)
        else:
            n = 1 if c.decoder == "greedy" else c.n_best
            hist, lp, score, ended = _sample_search(st, src, lims, _picker(c.decoder, c.top_k, c.top_p, c.seed, dev), n)
            res = _hyps(hist, lp, score, ended, n, alpha, stops)
    if cols is not None:
        for h in (h for hs in res for h in hs): h.tokens = [cols[t] for t in h.tokens]
    return res


class _Columns:
    """`model` seen through the target ids `cols` (sorted) alone: ids in and logits out are
    positions in `cols`. Under a FaithfulConstraint every other id is masked anyway, so the
    search gives the same result, but its per-step masks, softmax and picks cost (rows, len(cols))
    instead of (rows, vocabulary)."""

    def __init__(self, model, cols: Sequence[int]):
        self.m = model
        self.cols = torch.tensor(cols, dtype=torch.long, device=next(model.parameters()).device)
        pos = {t: i for i, t in enumerate(cols)}
        self.bos_idx, self.eos_idx, self.pad_idx = pos[model.bos_idx], pos[model.eos_idx], pos[model.pad_idx]

    def parameters(self): return self.m.parameters()
    def encode(self, src: Tensor): return self.m.encode(src)
    def select_state(self, state, idx: Tensor): return self.m.select_state(state, idx)

    def step(self, dec_inp: Tensor, state):
        """dec_inp (rows,) positions in `cols` -> logits (rows, len(cols)), new state. A model with
        `step_columns(dec_inp, state, cols)` computes just those columns; any other's full logits are cut."""
        if hasattr(self.m, "step_columns"): return self.m.step_columns(self.cols[dec_inp], state, self.cols)
        logits, state = self.m.step(self.cols[dec_inp], state)
        return logits.index_select(1, self.cols), state
