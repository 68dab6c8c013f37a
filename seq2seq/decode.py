"""Decoding: pick rules and one generate loop (greedy, top-k, nucleus, beam).

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

import dataclasses
from dataclasses import dataclass, field
import math
from functools import partial
from typing import Callable, NamedTuple, Optional, Sequence

import torch
from torch import Tensor

from .config import check, int_ge, is_int, option

__all__ = ["Hypothesis", "DECODERS", "DecodeConfig", "decode_config", "greedy_pick", "top_k_pick", "top_p_pick",
           "apply_temperature", "mask_logits", "gnmt_penalty", "generate",
           "FaithfulConstraint", "FaithfulState", "check_faithful", "faithful_moves", "faithful_states"]

DECODERS = ("greedy", "topk", "nucleus", "beam")
NEG_INF = float("-inf")


def _esc(x) -> str:
    "repr(x) safe inside a ConfigError template."
    return repr(x).replace("{", "{{").replace("}", "}}")


@dataclass(frozen=True)
class DecodeConfig:
    """Every decoding option, checked once here; scripts/predict.py's options are its fields.

    `generate` reads the decoder and search fields; `restore.restore_texts` also `bs` and
    `faithful`. Python callers may pass the fields as keyword arguments instead (`decode_config`).
    """
    decoder: str = option("greedy", "decoding strategy", choices=DECODERS)
    beam_size: int = option(5, "beams (beam decoder)")
    n_best: int = option(1, "hypotheses kept per text; > 1 adds PRED_COL_nbest to the output CSV, "
                            "as JSON [text, score] pairs")
    top_k: int = option(10, "k for the topk decoder")
    top_p: float = option(0.9, "probability mass for the nucleus decoder")
    temperature: float = option(1.0, "softmax temperature (every decoder; matters to the sampling ones)")
    length_penalty: float = option(0.6, "GNMT alpha for beam search (0: none)")
    max_len: Optional[int] = option(None, "most tokens per output (default: 2 x source length + 10)")
    min_len: int = option(0, "no end of sentence before this many tokens")
    seed: Optional[int] = option(None, "seed for the sampling decoders (None: nondeterministic)")
    bs: int = option(64, "sentences decoded per batch")
    faithful: bool = option(True, "constrain the output to the source text plus tags (off: free generation)")
    max_tokens: Optional[int] = option(2000, "decode a longer text in windows of this many tokens cut at whitespace "
                                             "(faithful output kept; None: never)")

    def __post_init__(self):
        if self.decoder not in DECODERS:
            check([(False, f"unknown {{}} {_esc(self.decoder)}; valid decoders: {', '.join(DECODERS)}", "decoder")])
        ints = [(n, 0 if n == "min_len" else 1) for n in ("beam_size", "n_best", "top_k", "bs", "min_len")]
        check([(is_int(getattr(self, n)), f"{{}} must be an integer, got {_esc(getattr(self, n))}", n)
               for n, _ in ints] + [(getattr(self, n) >= lo, f"{{}} must be >= {lo} (got {getattr(self, n)})", n)
                                    for n, lo in ints])
        mx, p, t, a = self.max_len, self.top_p, self.temperature, self.length_penalty
        check([(mx is None or int_ge(mx, 1), f"{{}} must be None or an integer >= 1 (got {_esc(mx)})", "max_len"),
               (self.max_tokens is None or int_ge(self.max_tokens, 1),
                f"{{}} must be None or an integer >= 1 (got {_esc(self.max_tokens)})", "max_tokens"),
               (0 < p <= 1, f"{{}} must be in (0, 1] (got {p!r})", "top_p"),
               (t > 0, f"{{}} must be > 0 (got {t!r})", "temperature"),
               (a >= 0, f"{{}} must be >= 0 (got {a!r})", "length_penalty"),
               (self.seed is None or is_int(self.seed), f"{{}} must be None or an integer", "seed"),
               (isinstance(self.faithful, bool), f"{{}} must be True or False (got {_esc(self.faithful)})", "faithful"),
               (self.decoder != "beam" or self.n_best <= self.beam_size,
                f"{{}} must be <= {{}} with beam search (got {self.n_best} > {self.beam_size})", "n_best", "beam_size")])


def decode_config(cfg: Optional[DecodeConfig] = None, **options) -> DecodeConfig:
    "`cfg` (default: DecodeConfig()) with the fields in `options` replaced; checked again."
    if cfg is None: return DecodeConfig(**options)
    if not isinstance(cfg, DecodeConfig): raise TypeError(f"cfg must be a DecodeConfig, got {type(cfg).__name__}")
    return dataclasses.replace(cfg, **options) if options else cfg


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


# ---------------------------------------------------------------- pick rules and masks

def greedy_pick(logp: Tensor) -> Tensor:
    "Most likely id of each row: `logp` (bs, V) -> ids (bs,)."
    return logp.argmax(-1)


def top_k_pick(logp: Tensor, k: int, generator: Optional[torch.Generator] = None) -> Tensor:
    """Sample one id per row among the `k` most likely, with probabilities renormalised over them.

    logp: (bs, V) log-probabilities (or logits); returns ids (bs,). `k=1` is greedy.
    """
    vals, ix = logp.topk(min(k, logp.size(-1)), dim=-1)      # (bs, k)
    pick = torch.multinomial(vals.softmax(-1), 1, generator=generator)
    return ix.gather(-1, pick).squeeze(-1)


def top_p_pick(logp: Tensor, p: float, generator: Optional[torch.Generator] = None) -> Tensor:
    """Nucleus sampling: per row, keep the smallest set of most likely ids whose mass is >= `p`
    (always at least one id) and sample among them with renormalised probabilities.

    logp: (bs, V) log-probabilities (or logits); returns ids (bs,). A tiny `p` is greedy.
    """
    srt, ix = logp.sort(-1, descending=True)
    probs = srt.softmax(-1)
    # an id is kept while the mass before it is short of p (so the first always is, as p > 0)
    keep = probs.cumsum(-1) - probs < p
    pick = torch.multinomial(probs.masked_fill(~keep, 0.), 1, generator=generator)
    return ix.gather(-1, pick).squeeze(-1)


def apply_temperature(logits: Tensor, t: float) -> Tensor:
    "Divide logits by temperature `t` (> 0): below 1 sharpens, above 1 flattens."
    return logits if t == 1 else logits / t


def mask_logits(logits: Tensor, allowed: Tensor) -> Tensor:
    "Set logits (bs, V) to -inf wherever the bool mask `allowed` (bs, V) is False."
    return torch.where(allowed, logits, NEG_INF)


def gnmt_penalty(length, alpha: float):
    "GNMT length penalty `((5 + length) / 6) ** alpha`; 1 for alpha=0. `length` may be a tensor."
    return ((5 + length) / 6) ** alpha


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


# ---------------------------------------------------------------- faithful decoding

def faithful_moves(has_next: Tensor, tag: Tensor, n_in: Tensor):
    """The faithful rules, shared by decoding (`FaithfulConstraint`) and training (the candidate
    loss of seq2seq/aligned.py): which moves are legal in a state.

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
