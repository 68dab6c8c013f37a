"""Mogrifier LSTM (Melis, Kočiský & Blunsom, 2019), a drop-in for a batch-first `nn.LSTM`.

Before each LSTM update, `steps` rounds of mutual gating let the input and the previous
hidden state modulate each other: round i odd `x = 2·σ(Q^i h) ⊙ x`, round i even
`h = 2·σ(R^i x) ⊙ h`; then the usual LSTM cell runs on the gated x and h. Because
2·σ(0) = 1, zero Q/R (or `steps=0`) give back a plain LSTM. LSTM weights keep the names
and layout of `nn.LSTM` (`weight_ih_l0`, `bias_hh_l1_reverse`, ..., gates i, f, g, o), so
`MogrifierLSTM.from_lstm` copies them over; the gating matrices are `mog_q_l{k}` (rounds
1, 3, ...; (nq, in, nh)) and `mog_r_l{k}` (rounds 2, 4, ...; (nr, nh, in)), with `_reverse`
twins for the backward direction.

The time loop is Python; both directions of a layer run in the same loop as one batched
matmul. Packed input is unpacked, run with a length mask (padded steps leave the state
alone, so each final state is the one at the sequence's own last step) and packed again
with the caller's sort order.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

__all__ = ["MogrifierLSTM"]


class MogrifierLSTM(nn.Module):
    """Multi-layer, optionally bidirectional Mogrifier LSTM with `nn.LSTM(batch_first=True)` calls.

    Args:
        in_sz: input features; nh: hidden size; nl: number of layers.
        dropout: dropout on each layer's output except the last, in training only (as `nn.LSTM`).
        bidirectional: add a backward direction (each sequence reversed within its own length).
        steps: rounds of mogrification before each update; 0 is exactly an LSTM.

    `out, (h, c) = rnn(x, hid=None)`: `x` (bs, sl, in_sz) or a PackedSequence; `out`
    (bs, sl, ndir*nh) or a PackedSequence like `x`; `h`, `c` (nl*ndir, bs, nh), ordered
    layer-major then direction, as `nn.LSTM`. `hid` (optional) is an `(h0, c0)` pair of that shape.
    """

    def __init__(self, in_sz: int, nh: int, nl: int = 1, dropout: float = 0.0,
                 bidirectional: bool = False, steps: int = 5):
        super().__init__()
        if steps < 0: raise ValueError(f"steps must be >= 0, got {steps}")
        self.input_size, self.hidden_size, self.num_layers = in_sz, nh, nl
        self.dropout, self.bidirectional, self.steps, self.batch_first = dropout, bidirectional, steps, True
        self.ndir = 2 if bidirectional else 1
        self.sfxs = ("", "_reverse")[:self.ndir]
        nq, nr = (steps + 1) // 2, steps // 2
        for k in range(nl):
            ni = in_sz if k == 0 else nh * self.ndir
            for s in self.sfxs:
                self._param(f"weight_ih_l{k}{s}", 4 * nh, ni)
                self._param(f"weight_hh_l{k}{s}", 4 * nh, nh)
                self._param(f"bias_ih_l{k}{s}", 4 * nh)
                self._param(f"bias_hh_l{k}{s}", 4 * nh)
                if nq: self._param(f"mog_q_l{k}{s}", nq, ni, nh)
                if nr: self._param(f"mog_r_l{k}{s}", nr, nh, ni)
        self.reset_parameters()

    def _param(self, name, *shape):
        "Register an uninitialised Parameter of `shape` as `name`."
        self.register_parameter(name, nn.Parameter(torch.empty(*shape)))

    def reset_parameters(self):
        "LSTM weights ~ U(±1/√nh) as `nn.LSTM`; each Q/R ~ U(±1/√fan_in) as `nn.Linear`."
        for name, p in self.named_parameters():
            fan_in = p.size(-1) if name.startswith("mog_") else self.hidden_size
            nn.init.uniform_(p, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    @classmethod
    def from_lstm(cls, lstm: nn.LSTM, steps: int = 0) -> "MogrifierLSTM":
        "A `MogrifierLSTM` with the sizes and LSTM weights of `lstm` (Q/R freshly initialised)."
        if lstm.proj_size or not lstm.bias: raise ValueError("only nn.LSTM with bias and no projection")
        res = cls(lstm.input_size, lstm.hidden_size, lstm.num_layers, lstm.dropout, lstm.bidirectional, steps)
        res = res.to(lstm.weight_ih_l0.device, lstm.weight_ih_l0.dtype)
        with torch.no_grad():
            for name, p in lstm.named_parameters(): getattr(res, name).copy_(p)
        return res

    def extra_repr(self):
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, dropout={self.dropout}, "
                f"bidirectional={self.bidirectional}, steps={self.steps}")

    def forward(self, x, hid=None):
        "x (bs, sl, in_sz) or PackedSequence, hid `(h0, c0)` or None -> out, (h, c); see the class docstring."
        packed, x_in = isinstance(x, PackedSequence), x
        if packed: x, lens = pad_packed_sequence(x, batch_first=True)  # original batch order
        bs, sl = x.shape[:2]
        nd, nh = self.ndir, self.hidden_size
        if hid is None: hid = (x.new_zeros(self.num_layers * nd, bs, nh),) * 2
        mask = (torch.arange(sl)[None] < lens[:, None]).to(x.device) if packed else None  # (bs, sl)
        lens_ = lens if packed else torch.full((bs,), sl)
        ridx = _reverse_index(lens_, sl).to(x.device) if nd == 2 else None
        hs, cs, inp = [], [], x
        for k in range(self.num_layers):
            if k: inp = F.dropout(inp, self.dropout, self.training)
            xs = torch.stack([inp, _reverse(inp, ridx)]) if nd == 2 else inp[None]  # (nd, bs, sl, ni)
            ls = slice(k * nd, (k + 1) * nd)
            out, h, c = self._layer(k, xs, hid[0][ls], hid[1][ls], mask)
            inp = torch.cat([out[0], _reverse(out[1], ridx)], -1) if nd == 2 else out[0]  # (bs, sl, nd*nh)
            hs.append(h); cs.append(c)
        hid = (torch.cat(hs), torch.cat(cs))
        return (_repack(inp, lens, x_in) if packed else inp), hid

    def _layer(self, k, xs, h, c, mask):
        "Layer `k`, all directions at once: xs (nd, bs, sl, ni), h/c (nd, bs, nh) -> out (nd, bs, sl, nh), h, c."
        w_ih, w_hh, b, q, r = self._weights(k)
        xs = xs.permute(2, 0, 1, 3).contiguous()                        # (sl, nd, bs, ni): xs[t] is contiguous
        if self.steps == 0:  # x is not gated: project all steps at once
            xw = torch.matmul(xs, w_ih.transpose(1, 2)) + b[:, None]    # (sl, nd, bs, 4nh)
        else:
            w, b = torch.cat([w_ih, w_hh], 2).transpose(1, 2), b[:, None]  # (nd, ni+nh, 4nh), (nd, 1, 4nh)
        ms = None if mask is None else mask.t()[..., None]               # (sl, bs, 1)
        outs = []
        for t in range(xs.size(0)):
            if self.steps == 0:
                gates = torch.baddbmm(xw[t], h, w_hh.transpose(1, 2))
            else:
                xt, hm = self._mogrify(xs[t], h, q, r)
                gates = torch.baddbmm(b, torch.cat([xt, hm], -1), w)  # one fused matmul for all gates
            i, f, g, o = gates.chunk(4, -1)
            c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)
            if ms is None: h, c = h_new, c_new
            else: h, c = torch.where(ms[t], h_new, h), torch.where(ms[t], c_new, c)
            outs.append(h)
        return torch.stack(outs, 2), h, c

    def _mogrify(self, x, h, q, r):
        "`steps` rounds of mutual gating of x (nd, bs, ni) and h (nd, bs, nh)."
        for i in range(self.steps):
            j = i // 2
            if i % 2 == 0: x = 2 * torch.sigmoid(torch.bmm(h, q[:, j].transpose(1, 2))) * x  # paper's odd rounds
            else: h = 2 * torch.sigmoid(torch.bmm(x, r[:, j].transpose(1, 2))) * h
        return x, h

    def _weights(self, k):
        "Layer `k`'s W_ih, W_hh, b_ih + b_hh, Q, R stacked over directions (Q/R None when unused)."
        def get(name):
            ps = [getattr(self, f"{name}_l{k}{s}", None) for s in self.sfxs]
            return None if ps[0] is None else torch.stack(ps)
        return get("weight_ih"), get("weight_hh"), get("bias_ih") + get("bias_hh"), get("mog_q"), get("mog_r")


def _reverse_index(lens, sl):
    "(bs, sl) time indices that reverse each sequence within its length and leave padding in place."
    t = torch.arange(sl)[None]
    return torch.where(t < lens[:, None], lens[:, None] - 1 - t, t)


def _reverse(x, ridx):
    "Reverse x (bs, sl, n) within each sequence's length (`ridx` from `_reverse_index`; it is its own inverse)."
    return x.gather(1, ridx[..., None].expand_as(x))


def _repack(out, lens, like):
    "Pack out (bs, sl, n), in original batch order, into a PackedSequence with the structure of `like`."
    si = like.sorted_indices
    if si is not None: out, lens = out.index_select(0, si), lens.index_select(0, si.cpu())
    data = pack_padded_sequence(out, lens, batch_first=True).data
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)
