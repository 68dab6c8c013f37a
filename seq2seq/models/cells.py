"""Recurrent layers for the encoder and decoder: GRU (default), LSTM, Mogrifier LSTM.

Every layer made by `make_rnn` has the `nn.GRU` calling convention with `batch_first=True`:
`out, hid = rnn(x, hid=None)`, `x` a (bs, sl, in) tensor or a PackedSequence, `hid` a tensor
(GRU) or an `(h, c)` tuple (LSTM kinds), each (nl * ndir, bs, nh).

The GRU is `PackedGRU`: torch's own on a padded tensor, on a GPU and whenever no gradient is
recorded, and a loop over the time steps of a PackedSequence while training on CPU. torch's CPU
kernel takes each step's rows out of the packed input with a slice whose backward fills a zero
tensor of the whole input (time steps x rows x 3 nh each step); the loop splits the input once,
so its backward is one concatenation. Same parameters, same arithmetic (tested equal); the
default model trains about 22% more target tokens per second (benchmarks/train_speed.py: 2.91x ->
3.56x the seed's step loop).
"""
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from .config import CELLS
from .mogrifier import MogrifierLSTM

__all__ = ["CELLS", "make_rnn", "PackedGRU", "gru_update", "map_hid"]


def make_rnn(cell: str, in_sz: int, nh: int, nl: int, dropout: float, bidirectional: bool = False,
             mogrify_steps: int = 5) -> nn.Module:
    "A multi-layer recurrent layer of kind `cell` (one of `CELLS`)."
    drop = dropout if nl > 1 else 0.0  # torch warns about inter-layer dropout with one layer
    if cell == "gru":
        return PackedGRU(in_sz, nh, nl, batch_first=True, dropout=drop, bidirectional=bidirectional)
    if cell == "lstm":
        return nn.LSTM(in_sz, nh, nl, batch_first=True, dropout=drop, bidirectional=bidirectional)
    if cell == "mogrifier":
        return MogrifierLSTM(in_sz, nh, nl, dropout=drop, bidirectional=bidirectional, steps=mogrify_steps)
    raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")


class PackedGRU(nn.GRU):
    "`nn.GRU` whose training pass over a PackedSequence is a loop with a cheap backward (module docstring)."

    def forward(self, x, hx=None):
        if not (isinstance(x, PackedSequence) and x.data.device.type == "cpu" and torch.is_grad_enabled()):
            return super().forward(x, hx)  # padded input, inference, or a GPU (cuDNN)
        sizes, ndir, nh = x.batch_sizes.tolist(), 2 if self.bidirectional else 1, self.hidden_size
        if hx is None: hx = x.data.new_zeros(self.num_layers * ndir, sizes[0], nh)
        elif x.sorted_indices is not None: hx = hx.index_select(1, x.sorted_indices)
        data, finals = x.data, []
        for layer in range(self.num_layers):
            if layer: data = nn.functional.dropout(data, self.dropout, self.training)
            outs = []
            for d in range(ndir):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                w_ih, w_hh, b_ih, b_hh = (getattr(self, n + sfx) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                out, h = _gru_direction(data, sizes, hx[layer * ndir + d], w_ih, w_hh, b_ih, b_hh, reverse=bool(d))
                outs.append(out)
                finals.append(h)
            data = torch.cat(outs, 1) if ndir > 1 else outs[0]
        hid = torch.stack(finals)
        if x.unsorted_indices is not None: hid = hid.index_select(1, x.unsorted_indices)
        return PackedSequence(data, x.batch_sizes, x.sorted_indices, x.unsorted_indices), hid


def _gru_direction(data: Tensor, sizes: list, h0: Tensor, w_ih, w_hh, b_ih, b_hh, reverse: bool):
    """One direction of one GRU layer over packed `data` (rows of step t: the first sizes[t] of the
    batch, sorted by length) -> (packed output, final state (bs, nh)). torch's gate order r, z, n."""
    gi = torch.addmm(b_ih, data, w_ih.t()).split(sizes)
    outs, ends = [None] * len(sizes), []
    h = h0[:0]
    for t in (range(len(sizes) - 1, -1, -1) if reverse else range(len(sizes))):
        b = sizes[t]
        if b > len(h): h = torch.cat([h, h0[len(h):b]])      # backwards: rows start at their last step
        elif b < len(h): ends.append(h[b:]); h = h[:b]       # forwards: the rows past their last step end
        h = outs[t] = gru_update(gi[t], torch.addmm(b_hh, h, w_hh.t()), h)
    ends.append(h)
    return torch.cat(outs), torch.cat(ends[::-1])


def gru_update(gi: Tensor, gh: Tensor, h: Tensor) -> Tensor:
    """torch's GRU update: input and hidden projections gi, gh (bs, 3 nh) (biases included, gate
    order r, z, n) and state h (bs, nh) -> new state (bs, nh)."""
    nh = h.size(1)
    # split, not sliced: the backward of a split is one concatenation, each slice's a zero tensor
    (i_rz, i_n), (h_rz, h_n) = gi.split((2 * nh, nh), 1), gh.split((2 * nh, nh), 1)
    r, z = torch.sigmoid(i_rz + h_rz).chunk(2, 1)                            # both gates in one op
    n = torch.tanh(i_n + r * h_n)
    return (h - n) * z + n


def map_hid(fn, hid):
    "Apply `fn` to a hidden state that is a tensor (GRU) or a tuple of tensors (LSTM)."
    return tuple(fn(h) for h in hid) if isinstance(hid, tuple) else fn(hid)
