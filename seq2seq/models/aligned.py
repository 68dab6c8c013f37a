"""The default model: a source-aligned encoder-decoder with an open-vocabulary source, trained on
the faithful (candidate) objective.

Source tokens. Each source token's input vector is built from its string, so words never seen in
training still get a meaningful one: a frozen fastText sub-word vector (the mean of its character
n-gram rows, `features.subword_vectors`; the n-gram table is a buffer of the model), a trainable
word embedding (frequent training words; others share the unknown word's row) and a small
word-shape embedding. The source vocabulary holds every training word; `numericalize` gives any
other string a per-batch extra id whose features are computed on the fly.

Hard monotonic attention (Aharoni & Goldberg 2017). A bidirectional GRU reads the source. The
decoder's input at each step is [embedding of the previous target token ; encoder output at the
source position it copies next]. That pointer is the number of source tokens copied so far (target
ids that are no marker, BOS, EOS or pad): a cumsum over the target in training, and a counter in
the decoding state advanced by `step`, so every decoder of seq2seq/decoding/search.py runs unchanged.
Past the end of the source the decoder reads a learned end vector.

Faithful objective. Faithful decoding only ever chooses among a few candidates: copy the next
source token, a legal marker, EOS. Training scores just those (rows of the tied output weight,
gathered: no full-vocabulary matmul): the cross-entropy over the candidates that
`decode.faithful_moves` allows in the state `decode.faithful_states` reads off the gold target,
the rules FaithfulConstraint decodes with. The forward pass returns (bs, tl, C) candidate logits,
column 0 the copy, then every marker, then EOS (`CandidateLoss` maps targets to columns). At
decoding `step` likewise computes logits for the markers, EOS and each row's next source token
only (-inf elsewhere), and `step_columns` the same over the few target ids of a decoding batch
(`decode.generate` asks for those), so nothing vocabulary-sized is built per step. With objective
"full" the output layer covers the whole vocabulary. At inference the decoder's one-layer GRU cell
is computed by hand (`_gru_cell`, torch's arithmetic), cheaper per step than the GRU module.
"""
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..text.tags import close_marker, is_marker, is_open, marker_type
from .cells import gru_update, make_rnn, map_hid
from .config import ModelConfig
from .faithful import FaithfulConstraint, faithful_moves, faithful_states
from .features import N_CHARS, N_SHAPES, char_ids, subword_vectors, word_shape

__all__ = ["AlignedSeq2Seq", "frequent_rows", "copy_pointers", "shift_target"]

_SPECIAL = ("xxbos", "xxeos", "xxpad")  # a source word spelled like these reads as unknown (id 0)
CHAR_EMB = 16  # character embedding size of the character features
MASKED = -1e9  # logit of a candidate the rules forbid (finite: a row never becomes all -inf -> NaN)


def copy_pointers(tgt_in: Tensor, is_copy: Tensor) -> Tensor:
    "Source position each decoder input reads: copies among `tgt_in` (bs, tl) up to and including it."
    return is_copy[tgt_in].long().cumsum(1)


def shift_target(tgt_in: Tensor, eos_idx: int, pad_idx: int) -> Tensor:
    """The gold next tokens (bs, tl) from the decoder inputs `tgt_in` (BOS first): shifted left; a
    row whose input fills the width ends in EOS (the others' EOS is already in their input)."""
    last = tgt_in[:, -1:]
    end = torch.where((last != pad_idx) & (last != eos_idx), eos_idx, pad_idx)
    return torch.cat([tgt_in[:, 1:], end], 1)


class AlignedSeq2Seq(nn.Module):
    """Source-aligned encoder-decoder over token ids; see the module docstring.

    Built from a `ModelConfig` and the two vocabularies alone; every table it needs (fastText
    n-gram rows, source sub-word vectors, word rows, shapes) is a buffer in its state_dict.
    `fill_features(ngrams, rows)` sets the fastText table and the word rows after training
    fastText (seq2seq/training/learner.py does it).
    """

    def __init__(self, cfg: ModelConfig, src_itos: Sequence[str], tgt_itos: Sequence[str]):
        super().__init__()
        self.cfg, self.src_itos, self.tgt_itos = cfg, list(src_itos), list(tgt_itos)
        self.src_stoi, self.tgt_stoi = _stoi(src_itos), _stoi(tgt_itos)
        self.bos_idx, self.eos_idx, self.pad_idx = (self.tgt_stoi[t] for t in _SPECIAL)
        self._tables(cfg)
        nh, em, dm = cfg.hidden, cfg.emb_size, cfg.drop_mult
        self.word_emb = nn.Embedding(cfg.src_words or len(src_itos), cfg.word_dim)
        self.shape_emb = nn.Embedding(N_SHAPES, cfg.shape_dim)
        self.in_drop, self.emb_dec_drop, self.out_drop = (UniformDropout(p * dm) for p in (0.15, 0.1, 0.3))
        if cfg.char_dim:
            self.char_emb = nn.Embedding(N_CHARS, CHAR_EMB, padding_idx=0)
            self.char_conv = nn.Linear(3 * CHAR_EMB, cfg.char_dim)  # a width-3 convolution, as one matmul
        in_sz = cfg.sub_dim + cfg.word_dim + cfg.shape_dim + cfg.char_dim
        self.rnn_enc = make_rnn(cfg.cell, in_sz, nh, cfg.layers, 0.25 * dm, True, cfg.mogrify_steps)
        self.end = nn.Parameter(torch.randn(2 * nh) * 0.1)
        self.bridge, self.ctx_proj = nn.Linear(2 * nh, em), nn.Linear(2 * nh, em)
        # the decoder reads the encoder output through a projection to `em` features, made once per
        # source position: a decoder input of em + 2 * nh features costs ~4x the training FLOPs
        self.emb_dec = nn.Embedding(len(tgt_itos), em, padding_idx=self.pad_idx)
        nn.init.normal_(self.emb_dec.weight, std=0.1)
        self.rnn_dec = make_rnn(cfg.cell, 2 * em, em, cfg.layers, 0.1 * dm, False, cfg.mogrify_steps)
        self.out_bias = nn.Parameter(torch.zeros(len(tgt_itos)))
        self.pr_force, self._extra, self._cols, self.src_stats = 1.0, None, None, dict(tokens=0, oov=0)

    def _tables(self, cfg: ModelConfig):
        "Buffers: fastText n-grams, source features, and the target vocabulary's marker tables."
        Vs, V = len(self.src_itos), len(self.tgt_itos)
        self.register_buffer("ngrams", torch.zeros(cfg.buckets, cfg.sub_dim, dtype=torch.half))
        self.register_buffer("src_sub", torch.zeros(Vs, cfg.sub_dim, dtype=torch.half))
        last = (cfg.src_words or Vs) - 1
        self.register_buffer("word_row", torch.tensor([min(i, last) for i in range(Vs)], dtype=torch.long))
        self.register_buffer("src_shape", torch.tensor([word_shape(t) for t in self.src_itos]))
        if cfg.char_dim:  # derived from the vocabulary: not saved
            self.register_buffer("src_chars", char_ids(self.src_itos), persistent=False)
        self.register_buffer("src2tgt", torch.tensor(self._tgt_ids(self.src_itos)))
        marks = [i for i, t in enumerate(self.tgt_itos) if is_marker(t)]
        self.register_buffer("cand_ids", torch.tensor(marks + [self.eos_idx]))
        # the tables from Python lists, never read back from a tensor: so the model also builds on
        # the meta device, where modelfile.py reads the shapes a config implies without allocating
        opens = [i for i in marks if is_open(self.tgt_itos[i])]
        opn = torch.zeros(V, dtype=torch.bool)
        opn[opens] = True
        cls = torch.zeros(V, dtype=torch.bool)
        cls[sorted(set(marks) - set(opens))] = True
        close_of = torch.full((V,), -1)
        for i in opens: close_of[i] = self.tgt_stoi.get(close_marker(marker_type(self.tgt_itos[i])), -1)
        self.register_buffer("is_open", opn)
        self.register_buffer("is_close", cls)
        self.register_buffer("close_of", close_of)
        copy = torch.ones(V, dtype=torch.bool)  # neither marker nor BOS, EOS, pad
        copy[marks + [self.bos_idx, self.eos_idx, self.pad_idx]] = False
        self.register_buffer("is_copy", copy)

    def _tgt_ids(self, toks: Sequence[str]) -> list[int]:
        "Target ids of source tokens (unknown, and BOS/EOS/pad spellings, -> 0), as restore.token_ids."
        return [0 if t in _SPECIAL else self.tgt_stoi.get(t, 0) for t in toks]

    def fill_features(self, ngrams: Tensor, rows: Sequence[int]):
        """Set the fastText n-gram rows (buckets, sub_dim), the source vocabulary's sub-word vectors
        (n-grams only, as for an unseen word) and each source id's word-embedding row (`frequent_rows`)."""
        if max(rows) + 1 != self.word_emb.num_embeddings:
            raise ValueError(f"{max(rows) + 1} word rows, but the model has {self.word_emb.num_embeddings}")
        self.ngrams.copy_(ngrams.to(self.ngrams.dtype))
        self.src_sub.copy_(subword_vectors(self.src_itos, self.ngrams).to(self.src_sub.dtype))
        self.word_row.copy_(torch.tensor(rows))

    # -- source ---------------------------------------------------------------------------------
    def numericalize(self, tok_lists: Sequence[Sequence[str]]) -> list[Tensor]:
        """Source ids of tokenized texts; a string outside the training vocabulary gets an extra id
        (len(src_itos) + k) whose features are computed from the string, valid until the next call.
        Counts tokens and unknown ones in `src_stats`."""
        Vs, extra, res = len(self.src_itos), {}, []
        for toks in tok_lists:
            ids = [0 if t in _SPECIAL else self.src_stoi.get(t, -1) for t in toks]
            res.append(torch.tensor([i if i >= 0 else Vs + extra.setdefault(t, len(extra))
                                     for i, t in zip(ids, toks)], dtype=torch.long))
            self.src_stats["tokens"] += len(ids)
            self.src_stats["oov"] += sum(i < 0 for i in ids)
        words, dev = list(extra), self.ngrams.device
        self._extra = (subword_vectors(words, self.ngrams).to(dev),
                       torch.tensor([word_shape(w) for w in words], dtype=torch.long, device=dev),
                       torch.tensor(self._tgt_ids(words), dtype=torch.long, device=dev),
                       char_ids(words).to(dev))
        return res

    def _features(self, src: Tensor):
        "Encoder input (bs, sl, in_sz) and the target id of each source token (bs, sl)."
        Vs = len(self.src_itos)
        known, k = src < Vs, src.clamp(max=Vs - 1)
        sub, shape, word, copy = self.src_sub[k].float(), self.src_shape[k], self.word_row[k], self.src2tgt[k]
        if not known.all():
            if self._extra is None or int(src.max()) - Vs >= len(self._extra[1]):
                raise ValueError("source ids beyond the vocabulary: get them from `numericalize`")
            e = (src - Vs).clamp(min=0)
            sub = torch.where(known[..., None], sub, self._extra[0][e])
            shape = torch.where(known, shape, self._extra[1][e])
            word = torch.where(known, word, 0)
            copy = torch.where(known, copy, self._extra[2][e])
        if self.training and self.cfg.word_drop > 0:
            word = word.masked_fill(torch.rand(word.shape, device=word.device) < self.cfg.word_drop, 0)
        feats = [sub, self.word_emb(word), self.shape_emb(shape)]
        if self.cfg.char_dim: feats.append(self._char_features(src))
        return torch.cat(feats, -1), copy

    def _char_features(self, src: Tensor) -> Tensor:
        "(bs, sl, char_dim): max-pooled character convolution, computed once per distinct id of `src`."
        Vs = len(self.src_itos)
        uniq, inv = torch.unique(src, return_inverse=True)
        ch = self.src_chars[uniq.clamp(max=Vs - 1)]
        if int(uniq[-1]) >= Vs:
            ch = torch.where((uniq < Vs)[:, None], ch, self._extra[3][(uniq - Vs).clamp(min=0)])
        # only the windows centred on a character (about a third of the (U, L) grid; the rest is
        # padding, which the max skips), each as its 3 character ids (id 0 past either end: char_emb's
        # padding row, zeros), one embedding lookup, one matmul, then the max over each word's rows.
        # Not nn.Conv1d: oneDNN caches a primitive (and its memory) per input shape, and U changes
        # with every batch: peak RSS grew 35% over ten epochs
        real = ch != 0                                                                # (U, L)
        ids = F.pad(ch, (1, 1))
        win = torch.stack([ids[:, :-2], ids[:, 1:-1], ids[:, 2:]], -1)[real]          # (N, 3), word by word
        h = self.char_conv(self.char_emb(win).flatten(1))                             # (N, char_dim)
        return torch.relu(_SegmentMax.apply(h, real.nonzero()[:, 0], len(ch)))[inv]

    def encode(self, src: Tensor):
        """src (bs, sl) right-padded ids -> state `(hid, ctx, copy, ptr)` for `step`: ctx (bs, sl+1, em)
        the projected encoder output at each position (the end vector's past the source), copy
        (bs, sl+1) the target id of each source token (-1 past it), ptr (bs,) tokens copied."""
        mask = src != self.pad_idx
        lens = mask.sum(1).clamp(min=1)
        x, copy = self._features(src)
        packed = nn.utils.rnn.pack_padded_sequence(self.in_drop(x), lens.cpu(), batch_first=True, enforce_sorted=False)
        out, hid = self.rnn_enc(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        bs, sl = src.shape
        past = torch.arange(sl + 1, device=src.device)[None] >= lens[:, None]          # (bs, sl+1)
        ctx = torch.where(past[..., None], self.end, torch.cat([out, out.new_zeros(bs, 1, out.size(2))], 1))
        ctx = self.ctx_proj(ctx)                                                         # (bs, sl+1, em)
        copy = torch.cat([copy, copy.new_zeros(bs, 1)], 1).masked_fill(past, -1)
        return map_hid(self._bridge, hid), ctx, copy, src.new_zeros(bs)

    def _bridge(self, h):
        "Encoder final state (nl*2, bs, nh) -> decoder initial state (nl, bs, em)."
        nl, bs = self.cfg.layers, h.size(1)
        h = h.view(nl, 2, bs, h.size(2)).transpose(1, 2).reshape(nl, bs, -1)
        return torch.tanh(self.bridge(h)).contiguous()

    # -- decoder --------------------------------------------------------------------------------
    def _decode(self, dec_inp: Tensor, ptr: Tensor, hid, ctx: Tensor):
        "dec_inp, ptr (bs, n) -> decoder outputs (bs, n, em), new hidden state."
        at = ctx.gather(1, ptr.clamp(max=ctx.size(1) - 1)[..., None].expand(-1, -1, ctx.size(2)))
        out, hid = self.rnn_dec(torch.cat([self.emb_dec_drop(self.emb_dec(dec_inp)), at], -1), hid)
        if self.cfg.ctx_skip: out = out + at  # the output reads the position it decides about directly
        return self.out_drop(out), hid

    def is_faithful(self) -> bool:
        "True when trained on the faithful (candidate) objective: `forward` then returns candidate logits."
        return self.cfg.objective == "faithful"

    def _step_out(self, dec_inp: Tensor, state):
        "Decoder output (bs, em) after input dec_inp (bs,), the next copy's target id (bs,) (-1: none), new state."
        hid, ctx, copy, ptr = state
        ptr = ptr + self.is_copy[dec_inp]
        rows, at_ptr = torch.arange(len(ptr), device=ptr.device), ptr.clamp(max=ctx.size(1) - 1)
        if self._cell_by_hand():
            at = ctx[rows, at_ptr]                                                          # (bs, em)
            h = _gru_cell(self.emb_dec.weight[dec_inp], at, hid[0], self.rnn_dec)   # eval: no dropout
            out, hid = h + at if self.cfg.ctx_skip else h, h[None]
        else:
            out, hid = self._decode(dec_inp[:, None], ptr[:, None], hid, ctx)
            out = out[:, 0]
        return out, copy[rows, at_ptr], (hid, ctx, copy, ptr)

    def _cell_by_hand(self) -> bool:
        """Whether `step` runs the decoder's GRU cell by hand (`_gru_cell`): at inference with the
        default one-layer GRU, where torch's GRU module costs more per step than the cell itself."""
        return not self.training and self.cfg.cell == "gru" and self.cfg.layers == 1

    def step(self, dec_inp: Tensor, state):
        "One decoding step: dec_inp (bs,) -> logits (bs, V), new state (the pointer moves past a copy)."
        h, c, state = self._step_out(dec_inp, state)
        W, b = self.emb_dec.weight, self.out_bias
        if not self.is_faithful(): return h @ W.t() + b, state
        res = h.new_full((len(h), len(W)), float("-inf"))
        res[:, self.cand_ids] = self._marker_logits(h)
        keep = res.gather(1, c.clamp(min=0)[:, None])[:, 0]
        res.scatter_(1, c.clamp(min=0)[:, None], torch.where(c >= 0, self._copy_logits(h, c), keep)[:, None])
        return res, state

    def step_columns(self, dec_inp: Tensor, state, cols: Tensor):
        """`step` with logits over the target ids `cols` (C,) (sorted) only: dec_inp (bs,) ->
        logits (bs, C), equal to `step`'s logits[:, cols], without a (bs, V) tensor; new state."""
        h, c, state = self._step_out(dec_inp, state)
        W, b = self.emb_dec.weight, self.out_bias
        if not self.is_faithful(): return h @ W[cols].t() + b[cols], state
        pos, cand = self._columns(cols)
        res = h.new_full((len(h), len(cols) + 1), float("-inf"))          # column C takes ids outside cols
        res.scatter_(1, cand.expand(len(h), -1), self._marker_logits(h))
        res.scatter_(1, pos[c][:, None], self._copy_logits(h, c)[:, None])
        return res[:, :-1], state

    def _columns(self, cols: Tensor):
        """For sorted target ids `cols` (C,): the position of each target id in it (V+1,) (C where
        absent, and in the last entry, read for id -1) and of each of `cand_ids` (M+1,). Made once
        per `cols` tensor (decoding asks every step of a batch with the same one), not per step."""
        if self._cols is None or self._cols[0] is not cols:
            pos = torch.full((len(self.tgt_itos) + 1,), len(cols), dtype=torch.long, device=cols.device)
            pos[cols] = torch.arange(len(cols), device=cols.device)
            self._cols = (cols, pos, pos[self.cand_ids])
        return self._cols[1:]

    def _marker_logits(self, h: Tensor) -> Tensor:
        "Logits (bs, M+1) of `cand_ids` (the markers and EOS) from decoder outputs h (bs, em)."
        ids = self.cand_ids
        return torch.addmm(self.out_bias[ids], h, self.emb_dec.weight[ids].t())

    def _copy_logits(self, h: Tensor, c: Tensor) -> Tensor:
        "Logits (bs,) of copying target ids c (bs,) (-1: none; any value there)."
        c = c.clamp(min=0)
        return (h * self.emb_dec.weight[c]).sum(-1) + self.out_bias[c]

    def constraint(self, src: Tensor) -> FaithfulConstraint:
        "The FaithfulConstraint for a batch of source ids `src` (bs, sl) (as numericalized for this model)."
        _, copy = self._features(src)
        o2c = {int(o): int(self.close_of[o]) for o in torch.nonzero(self.is_open).flatten() if self.close_of[o] >= 0}
        return FaithfulConstraint([c[s != self.pad_idx].tolist() for c, s in zip(copy, src)], o2c, self.eos_idx,
                                  len(self.tgt_itos))

    def select_state(self, state, idx: Tensor):
        "Keep (or repeat) batch rows `idx` of a state, e.g. to reorder beams."
        hid, ctx, copy, ptr = state
        return (map_hid(lambda h: h.index_select(1, idx), hid), ctx.index_select(0, idx),
                copy.index_select(0, idx), ptr.index_select(0, idx))

    def forward(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        """src (bs, sl), tgt_in (bs, tl) from BOS -> candidate logits (bs, tl, C) (faithful; see
        `CandidateLoss`) or vocabulary logits (bs, tl, V) (full). Always teacher-forced."""
        hid, ctx, _, _ = self.encode(src)
        out, _ = self._decode(tgt_in, copy_pointers(tgt_in, self.is_copy), hid, ctx)
        if not self.is_faithful(): return out @ self.emb_dec.weight.t() + self.out_bias
        return self.candidate_logits(out, shift_target(tgt_in, self.eos_idx, self.pad_idx))

    def candidate_logits(self, out: Tensor, tgt: Tensor) -> Tensor:
        """Logits (bs, tl, C) of the candidates at each position of gold target `tgt` (bs, tl):
        column 0 copies the next source token, then one per marker of `cand_ids`, then EOS;
        candidates the faithful rules forbid there get `MASKED`."""
        nxt, _, tag, n_in = faithful_states(tgt, self.is_open, self.is_close, self.eos_idx, self.pad_idx)
        copy_ok, open_ok, close_ok, eos_ok = faithful_moves(nxt >= 0, tag, n_in)
        W, b, ids = self.emb_dec.weight, self.out_bias, self.cand_ids
        c = nxt.clamp(min=0)
        cp = (out * W[c]).sum(-1, keepdim=True) + b[c][..., None]                    # (bs, tl, 1)
        mk = out @ W[ids].t() + b[ids]                                               # (bs, tl, M+1)
        mk_ok = (self.is_open[ids] & open_ok[..., None]) | \
                ((ids == self.close_of[tag.clamp(min=0)][..., None]) & close_ok[..., None])
        mk_ok[..., -1] = eos_ok
        ok = torch.cat([copy_ok[..., None], mk_ok], -1)
        return torch.cat([cp, mk], -1).masked_fill(~ok, MASKED)

    def gold_columns(self) -> Tensor:
        "(V,) candidate column of each target id: 0 copies, 1.. markers, last EOS; -100 for pad/BOS."
        col = torch.zeros(len(self.tgt_itos), dtype=torch.long)
        col[self.cand_ids.cpu()] = torch.arange(1, len(self.cand_ids) + 1)
        col[[self.pad_idx, self.bos_idx]] = -100
        return col


def _gru_cell(x: Tensor, at: Tensor, h: Tensor, rnn: nn.GRU) -> Tensor:
    """One step of the one-layer GRU `rnn` on input [x ; at] (bs, em) each, state h (bs, nh) -> new
    state (bs, nh); torch's gates (r, z, n) and arithmetic, without building the concatenated input."""
    em = x.size(1)
    W, b = rnn.weight_ih_l0, rnn.bias_ih_l0
    gi = torch.addmm(torch.addmm(b, x, W[:, :em].t()), at, W[:, em:].t())      # (bs, 3 nh)
    return gru_update(gi, torch.addmm(rnn.bias_hh_l0, h, rnn.weight_hh_l0.t()), h)


class _SegmentMax(torch.autograd.Function):
    """Max over the rows of x (N, d) of each group: `seg` (N,) the group (0..n-1, each with a row)
    of each row -> (n, d). The gradient is `amax`'s: tied rows share it evenly (torch 2.13's
    `segment_reduce` backward gives each of them all of it)."""

    @staticmethod
    def forward(ctx, x: Tensor, seg: Tensor, n: int) -> Tensor:
        top = x.new_zeros(n, x.size(1)).scatter_reduce_(0, seg[:, None].expand_as(x), x, "amax", include_self=False)
        ctx.save_for_backward(x, seg, top)
        return top

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, seg, top = ctx.saved_tensors
        hit = (x == top.index_select(0, seg)).to(grad.dtype)                  # (N, d) the rows at their group's max
        ties = torch.zeros_like(top).index_add_(0, seg, hit)
        return hit * (grad / ties).index_select(0, seg), None, None


class UniformDropout(nn.Dropout):
    """`nn.Dropout` whose mask comes from `uniform_`, about twice as fast on a CPU as the
    `bernoulli_` of torch's: each element kept with probability 1 - p and scaled by 1 / (1 - p);
    the identity in eval mode."""

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0: return x
        keep = torch.empty_like(x).uniform_().ge_(self.p)                           # 1 with probability 1 - p
        return x * keep.mul_(1 / (1 - self.p) if self.p < 1 else 0.0)


def frequent_rows(itos: Sequence[str], counts: dict, min_freq: int = 2) -> list[int]:
    """Word-embedding row of each source id: words seen `min_freq` times in training (`counts`:
    token -> count) and id 0 (unknown) get their own row, every other word row 0."""
    rows, seen = [], {}
    for i, t in enumerate(itos):
        rows.append(seen.setdefault(t, len(seen)) if i == 0 or counts.get(t, 0) >= min_freq else 0)
    return rows


def _stoi(itos: Sequence[str]) -> dict:
    "token -> first id (fastai pads vocabularies with repeated `xxfake`)."
    res = {}
    for i, t in enumerate(itos): res.setdefault(t, i)
    return res


