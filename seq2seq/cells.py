"""Recurrent layers for the encoder and decoder: GRU (default), LSTM, Mogrifier LSTM.

Every layer made by `make_rnn` has the `nn.GRU` calling convention with `batch_first=True`:
`out, hid = rnn(x, hid=None)`, `x` a (bs, sl, in) tensor or a PackedSequence, `hid` a tensor
(GRU) or an `(h, c)` tuple (LSTM kinds), each (nl * ndir, bs, nh).
"""
from torch import nn

__all__ = ["CELLS", "make_rnn"]

CELLS = ("gru", "lstm", "mogrifier")


def make_rnn(cell: str, in_sz: int, nh: int, nl: int, dropout: float, bidirectional: bool = False,
             mogrify_steps: int = 5) -> nn.Module:
    "A multi-layer recurrent layer of kind `cell` (one of `CELLS`)."
    drop = dropout if nl > 1 else 0.0  # torch warns about inter-layer dropout with one layer
    if cell == "gru":
        return nn.GRU(in_sz, nh, nl, batch_first=True, dropout=drop, bidirectional=bidirectional)
    if cell == "lstm":
        return nn.LSTM(in_sz, nh, nl, batch_first=True, dropout=drop, bidirectional=bidirectional)
    if cell == "mogrifier":
        from .mogrifier import MogrifierLSTM
        return MogrifierLSTM(in_sz, nh, nl, dropout=drop, bidirectional=bidirectional, steps=mogrify_steps)
    raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
