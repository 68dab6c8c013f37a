"""GRU encoder-decoder with a tied output layer, teacher forcing and optional attention.

The encoder reads the source; its final hidden state, projected, starts the decoder. The
decoder's output layer shares its weight Parameter with the decoder embedding, so its hidden
size is the embedding size. `_decode` is the only code that turns decoder inputs into logits:
`step` calls it on one token, `forward` on the whole target at once when teacher forcing is
total, or step by step when it is not. With `attention`, the encoder is bidirectional and each
decoder output attends (additive scores, padding masked) over the encoder outputs before the
output layer.
"""
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from .cells import make_rnn, map_hid
from .config import ModelConfig

__all__ = ["Seq2SeqRNN", "AdditiveAttention", "get_seq2seq_model", "fix_mmap_threshold"]


def fix_mmap_threshold(nbytes: int = 1 << 20) -> bool:
    """Have glibc serve every allocation of `nbytes` or more with its own mmap, returned on free
    (called when an `AdditiveAttention` is built, for the rest of the process).

    glibc raises its mmap threshold (up to 32 MB) after large frees, then serves blocks such as
    attention's per-chunk temporaries from the heap, where a small live tensor allocated after
    each one pins it: RSS then grows as if nothing were chunked (7 GB instead of 0.7 GB for
    one attention pass, 64 x 270 x 250 x 256). A fixed threshold stops that. False off glibc.
    Not for the other archs: each mmap'd block is page-faulted in again on every use, which cost
    the aligned model 20% more CPU time (system time) for 15% less peak memory.
    """
    import ctypes
    import ctypes.util
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(-3, nbytes))  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


class AdditiveAttention(nn.Module):
    """Additive (Bahdanau) scores of decoder outputs against encoder outputs; padding gets zero weight.

    The scores need a (bs, tl, sl, na) intermediate; it is computed `max_elems` elements at a
    time over the target, and in training each chunk is recomputed in the backward pass
    (checkpointing) rather than kept, so memory stays bounded by a chunk, not by tl x sl.
    """
    max_elems = 1 << 23  # elements of one chunk's (bs, chunk, sl, na) intermediate (32 MB in float32)

    def __init__(self, q_sz: int, k_sz: int, na: int):
        super().__init__()
        fix_mmap_threshold()  # else freed chunks stay resident (see there)
        self.q, self.k, self.v = nn.Linear(q_sz, na, bias=False), nn.Linear(k_sz, na), nn.Linear(na, 1, bias=False)

    def keys(self, enc_out):
        "Project encoder outputs once per source: (bs, sl, k_sz) -> (bs, sl, na)."
        return self.k(enc_out)

    def _scores(self, q, keys):
        "Projected queries q (bs, n, na), keys (bs, sl, na) -> scores (bs, n, sl)."
        return self.v(torch.tanh(q[:, :, None] + keys[:, None])).squeeze(-1)  # via (bs, n, sl, na)

    def scores(self, qry, keys):
        "qry (bs, tl, q_sz), keys (bs, sl, na) -> scores (bs, tl, sl), in chunks over tl (see the class)."
        q = self.q(qry)                                                         # (bs, tl, na)
        bs, tl, na = q.shape
        n = max(1, self.max_elems // max(bs * keys.size(1) * na, 1))            # target positions a chunk
        if n >= tl: return self._scores(q, keys)
        grad = torch.is_grad_enabled() and (q.requires_grad or keys.requires_grad)
        parts = [checkpoint(self._scores, q[:, i:i + n], keys, use_reentrant=False) if grad
                 else self._scores(q[:, i:i + n], keys) for i in range(0, tl, n)]
        return torch.cat(parts, 1)

    def forward(self, qry, keys, enc_out, mask):
        "qry (bs, tl, q_sz), keys (bs, sl, na), mask (bs, sl) True at real tokens -> ctx (bs, tl, k_sz), wgts (bs, tl, sl)."
        scores = self.scores(qry, keys)                                         # (bs, tl, sl)
        wgts = F.softmax(scores.masked_fill(~mask[:, None], float("-inf")), dim=-1)
        return wgts @ enc_out, wgts


class Seq2SeqRNN(nn.Module):
    """Encoder-decoder over token ids.

    Args:
        emb_enc, emb_dec: source and target `nn.Embedding`s (e.g. fastText-initialised).
        cfg: a `ModelConfig` (hidden size, layers, cell, attention, dropout scale).
        bos_idx, eos_idx, pad_idx: target ids of BOS, EOS and padding (fastai: xxbos=2, xxeos=3, xxpad=1).
    """

    def __init__(self, emb_enc: nn.Embedding, emb_dec: nn.Embedding, cfg: ModelConfig,
                 bos_idx: int = 2, eos_idx: int = 3, pad_idx: int = 1):
        super().__init__()
        self.cfg, self.bos_idx, self.eos_idx, self.pad_idx = cfg, bos_idx, eos_idx, pad_idx
        nh, nl, dm = cfg.hidden, cfg.layers, cfg.drop_mult
        em = emb_dec.embedding_dim
        ndir = 2 if cfg.attention else 1
        self.emb_enc, self.emb_dec = emb_enc, emb_dec
        self.emb_enc_drop, self.emb_dec_drop = nn.Dropout(0.15 * dm), nn.Dropout(0.1 * dm)
        self.rnn_enc = make_rnn(cfg.cell, emb_enc.embedding_dim, nh, nl, 0.25 * dm, ndir == 2, cfg.mogrify_steps)
        self.enc_to_dec = nn.Linear(ndir * nh, em, bias=False)
        self.rnn_dec = make_rnn(cfg.cell, em, em, nl, 0.1 * dm, False, cfg.mogrify_steps)
        if cfg.attention:
            self.attn = AdditiveAttention(em, ndir * nh, nh)
            self.attn_out = nn.Linear(em + ndir * nh, em)
        self.out_drop = nn.Dropout(0.35 * dm)
        self.out = nn.Linear(em, emb_dec.num_embeddings)
        self.out.weight = self.emb_dec.weight  # tied: one Parameter, updated once
        self.pr_force = 1.0

    # -- encoder -------------------------------------------------------------------------------
    def encode(self, src):
        "src (bs, sl) right-padded ids -> state `(hid, enc_out, keys, mask)` for `step`."
        mask = src != self.pad_idx                                   # (bs, sl)
        lens = mask.sum(1).clamp(min=1).cpu()
        emb = self.emb_enc_drop(self.emb_enc(src))                   # (bs, sl, em_enc)
        packed = nn.utils.rnn.pack_padded_sequence(emb, lens, batch_first=True, enforce_sorted=False)
        out, hid = self.rnn_enc(packed)
        enc_out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        hid = map_hid(self._bridge, hid)
        keys = self.attn.keys(enc_out) if self.cfg.attention else None
        return hid, enc_out, keys, mask

    def _bridge(self, h):
        "Encoder final state (nl*ndir, bs, nh) -> decoder initial state (nl, bs, em)."
        nl, bs = self.cfg.layers, h.size(1)
        h = h.view(nl, -1, bs, h.size(2)).transpose(1, 2).reshape(nl, bs, -1)  # (nl, bs, ndir*nh)
        return self.enc_to_dec(h).contiguous()

    # -- decoder -------------------------------------------------------------------------------
    def _decode(self, dec_inp, state):
        "dec_inp (bs, n) -> logits (bs, n, voc_sz), new state. The one place tokens become logits."
        hid, enc_out, keys, mask = state
        out, hid = self.rnn_dec(self.emb_dec_drop(self.emb_dec(dec_inp)), hid)  # (bs, n, em)
        if self.cfg.attention:
            ctx, _ = self.attn(out, keys, enc_out, mask)                       # (bs, n, ndir*nh)
            out = torch.tanh(self.attn_out(torch.cat([out, ctx], -1)))
        return self.out(self.out_drop(out)), (hid, enc_out, keys, mask)

    def step(self, dec_inp, state):
        "One decoding step: dec_inp (bs,) -> logits (bs, voc_sz), new state."
        logits, state = self._decode(dec_inp[:, None], state)
        return logits[:, 0], state

    def select_state(self, state, idx):
        "Keep (or repeat) batch rows `idx` of a state, e.g. to reorder beams."
        hid, enc_out, keys, mask = state
        return (map_hid(lambda h: h.index_select(1, idx), hid), enc_out.index_select(0, idx),
                None if keys is None else keys.index_select(0, idx), mask.index_select(0, idx))

    def attention_weights(self, src, tgt_in):
        "Teacher-forced attention weights (bs, tl, sl) for plotting; needs `attention=True`."
        if not self.cfg.attention: raise ValueError("this model was built without attention")
        hid, enc_out, keys, mask = self.encode(src)
        out, _ = self.rnn_dec(self.emb_dec(tgt_in), hid)
        return self.attn(out, keys, enc_out, mask)[1]

    def forward(self, src, tgt_in):
        "src (bs, sl), tgt_in (bs, tl) starting with BOS -> logits (bs, tl, voc_sz) for the next tokens."
        state = self.encode(src)
        if not self.training or self.pr_force >= 1:
            return self._decode(tgt_in, state)[0]
        res, dec_inp = [], tgt_in[:, 0]
        for i in range(tgt_in.size(1)):
            logits, state = self.step(dec_inp, state)
            res.append(logits)
            if i + 1 == tgt_in.size(1): break
            # one coin per step for the whole batch: feed the truth or the model's own guess
            force = torch.rand(()) < self.pr_force
            dec_inp = tgt_in[:, i + 1] if force else logits.argmax(-1)
        return torch.stack(res, 1)


def get_seq2seq_model(cfg: ModelConfig, emb_enc: nn.Embedding, emb_dec: nn.Embedding,
                      bos_idx: int, eos_idx: int, pad_idx: int = 1) -> Seq2SeqRNN:
    "Build a `Seq2SeqRNN` from a config and two embeddings (sizes must match `cfg.emb_size`)."
    for e in (emb_enc, emb_dec):
        if e.embedding_dim != cfg.emb_size:
            raise ValueError(f"embedding size {e.embedding_dim} != emb_size {cfg.emb_size}")
    return Seq2SeqRNN(emb_enc, emb_dec, cfg, bos_idx, eos_idx, pad_idx)


