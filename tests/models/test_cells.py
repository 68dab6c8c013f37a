import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from seq2seq.models.cells import CELLS, PackedGRU, make_rnn
from seq2seq.models.config import ModelConfig
from seq2seq.models.mogrifier import MogrifierLSTM
from seq2seq.models.rnn import get_seq2seq_model

BS, SL, NI, NH = 4, 6, 5, 7
LENS = torch.tensor([3, 6, 1, 4])  # uneven and unsorted: exercises sorted/unsorted indices


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _x(bs=BS, sl=SL, ni=NI): return torch.randn(bs, sl, ni)


def _pack(x, lens=LENS): return pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)


def _unpack(out, sl=SL): return pad_packed_sequence(out, batch_first=True, total_length=sl)[0]


def _hc(hid): return hid if isinstance(hid, tuple) else (hid,)


def _run(rnn, x, packed, hid=None):
    "Output (bs, sl, n) padded with zeros, and the hidden state as a tuple."
    if not packed: out, hid = rnn(x, hid)
    else:
        out, hid = rnn(_pack(x), hid)
        assert isinstance(out, PackedSequence)
        out = _unpack(out, x.size(1))
    return out, _hc(hid)


def _assert_close(a, b, atol=1e-5):
    assert a.shape == b.shape
    assert torch.allclose(a, b, atol=atol), (a - b).abs().max().item()


# --- make_rnn --------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bi", [False, True])
@pytest.mark.parametrize("nl", [1, 2])
@pytest.mark.parametrize("packed", [False, True])
def test_make_rnn_shapes(cell, bi, nl, packed):
    ndir = 2 if bi else 1
    rnn = make_rnn(cell, NI, NH, nl, 0.2, bidirectional=bi, mogrify_steps=3)
    out, hid = _run(rnn, _x(), packed)
    assert out.shape == (BS, SL, ndir * NH)
    assert len(hid) == (1 if cell == "gru" else 2)
    assert all(h.shape == (nl * ndir, BS, NH) for h in hid)
    if packed: assert (out[2, 1:] == 0).all()  # padding past a sequence's end stays zero


def test_make_rnn_kinds():
    assert isinstance(make_rnn("gru", NI, NH, 1, 0.0), nn.GRU)
    assert isinstance(make_rnn("lstm", NI, NH, 1, 0.0), nn.LSTM)
    rnn = make_rnn("mogrifier", NI, NH, 2, 0.3, mogrify_steps=4)
    assert isinstance(rnn, MogrifierLSTM) and rnn.steps == 4 and rnn.dropout == 0.3


def test_make_rnn_unknown_cell():
    with pytest.raises(ValueError) as e: make_rnn("transformer", NI, NH, 1, 0.0)
    assert "transformer" in str(e.value) and all(c in str(e.value) for c in CELLS)


# --- PackedGRU: the training loop is torch's GRU ---------------------------------------------

def _grads(rnn, out, hid):
    return torch.autograd.grad((out ** 2).sum() + hid[0].sum(), list(rnn.parameters()))


@pytest.mark.parametrize("bi", [False, True])
@pytest.mark.parametrize("nl", [1, 2])
@pytest.mark.parametrize("with_hid", [False, True])
def test_packed_gru_equals_torch_gru(bi, nl, with_hid):
    "Outputs, final states and every parameter's gradient of the loop equal nn.GRU's on packed input."
    ours = PackedGRU(NI, NH, nl, batch_first=True, bidirectional=bi)
    ref = nn.GRU(NI, NH, nl, batch_first=True, bidirectional=bi)
    ref.load_state_dict(ours.state_dict())
    x, h0 = _x(), torch.randn(nl * (2 if bi else 1), BS, NH)
    (o1, h1), (o2, h2) = (_run(m, x, True, h0 if with_hid else None) for m in (ours, ref))
    _assert_close(o1, o2, 1e-6)
    _assert_close(h1[0], h2[0], 1e-6)
    for a, b in zip(_grads(ours, o1, h1), _grads(ref, o2, h2)): _assert_close(a, b, 1e-5)


def test_packed_gru_loop_only_when_training_packed(monkeypatch):
    "Padded input and no-grad calls go to torch's kernel (as do CUDA tensors); a packed training pass to the loop."
    calls = []
    monkeypatch.setattr("seq2seq.models.cells._gru_direction", lambda *a, **k: calls.append(1) or (_ for _ in ()).throw(
        RuntimeError("loop")))
    rnn = PackedGRU(NI, NH, 1, batch_first=True)
    _run(rnn, _x(), False)
    with torch.no_grad(): _run(rnn, _x(), True)
    assert not calls
    with pytest.raises(RuntimeError, match="loop"): _run(rnn, _x(), True)


def test_packed_gru_dropout_between_layers():
    "Inter-layer dropout acts in the loop too: two training passes differ, eval passes agree."
    rnn = PackedGRU(NI, NH, 2, batch_first=True, dropout=0.5)
    x = _x()
    a, b = _run(rnn, x, True)[0], _run(rnn, x, True)[0]
    assert not torch.allclose(a, b)
    rnn.eval()
    _assert_close(_run(rnn, x, True)[0], _run(rnn, x, True)[0], 0)


# --- Mogrifier vs LSTM -----------------------------------------------------------------------

@pytest.mark.parametrize("bi", [False, True])
@pytest.mark.parametrize("nl", [1, 2])
@pytest.mark.parametrize("packed", [False, True])
def test_steps0_equals_lstm(bi, nl, packed):
    lstm = nn.LSTM(NI, NH, nl, batch_first=True, bidirectional=bi, dropout=0.3 if nl > 1 else 0.0).eval()
    mog = MogrifierLSTM.from_lstm(lstm, steps=0).eval()
    x = _x()
    for hid in (None, (torch.randn(nl * (1 + bi), BS, NH), torch.randn(nl * (1 + bi), BS, NH))):
        (o1, (h1, c1)), (o2, (h2, c2)) = _run(lstm, x, packed, hid), _run(mog, x, packed, hid)
        for a, b in ((o1, o2), (h1, h2), (c1, c2)): _assert_close(a, b)


@pytest.mark.parametrize("packed", [False, True])
def test_zero_gates_equal_lstm(packed):
    "2·σ(0) = 1: with Q = R = 0 the mogrified path (fused matmul per step) is an LSTM too."
    lstm = nn.LSTM(NI, NH, 2, batch_first=True, bidirectional=True)
    mog = MogrifierLSTM.from_lstm(lstm, steps=4)
    with torch.no_grad():
        for n, p in mog.named_parameters():
            if n.startswith("mog_"): p.zero_()
    x = _x()
    (o1, (h1, c1)), (o2, (h2, c2)) = _run(lstm, x, packed), _run(mog, x, packed)
    for a, b in ((o1, o2), (h1, h2), (c1, c2)): _assert_close(a, b)


def test_from_lstm_rejects_projection():
    with pytest.raises(ValueError): MogrifierLSTM.from_lstm(nn.LSTM(NI, NH, proj_size=3))


@pytest.mark.parametrize("steps,nq,nr", [(0, 0, 0), (1, 1, 0), (4, 2, 2), (5, 3, 2)])
def test_gate_parameters(steps, nq, nr):
    mog = MogrifierLSTM(NI, NH, 2, bidirectional=True, steps=steps)
    ps = dict(mog.named_parameters())
    assert sum(n.startswith("mog_q") for n in ps) == (4 if nq else 0)
    assert sum(n.startswith("mog_r") for n in ps) == (4 if nr else 0)
    if nq: assert ps["mog_q_l0"].shape == (nq, NI, NH) and ps["mog_q_l1_reverse"].shape == (nq, 2 * NH, NH)
    if nr: assert ps["mog_r_l0"].shape == (nr, NH, NI) and ps["mog_r_l1_reverse"].shape == (nr, NH, 2 * NH)


def test_steps_differ_from_lstm_and_gradients_reach_gates():
    lstm = nn.LSTM(NI, NH, 2, batch_first=True, bidirectional=True)
    mog = MogrifierLSTM.from_lstm(lstm, steps=5)
    x = _x()
    o1, (h1, _) = _run(lstm, x, True)
    o2, (h2, c2) = _run(mog, x, True)
    assert not torch.allclose(o1, o2, atol=1e-3) and not torch.allclose(h1, h2, atol=1e-3)
    (o2.sum() + h2.sum() + c2.sum()).backward()
    grads = {n: p.grad for n, p in mog.named_parameters() if n.startswith("mog_")}
    assert len(grads) == 8
    for n, g in grads.items(): assert g is not None and g.abs().sum() > 0, n


def _reference(mog, x):
    "The paper's equations, written naively: one layer, one direction, x (sl, ni) -> outputs (sl, nh)."
    h, c, outs = torch.zeros(mog.hidden_size), torch.zeros(mog.hidden_size), []
    q, r = mog.mog_q_l0, getattr(mog, "mog_r_l0", None)
    for xt in x:
        for i in range(1, mog.steps + 1):
            if i % 2: xt = 2 * torch.sigmoid(q[(i - 1) // 2] @ h) * xt
            else: h = 2 * torch.sigmoid(r[i // 2 - 1] @ xt) * h
        gates = mog.weight_ih_l0 @ xt + mog.bias_ih_l0 + mog.weight_hh_l0 @ h + mog.bias_hh_l0
        i, f, g, o = gates.chunk(4)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs)


@pytest.mark.parametrize("steps", [1, 2, 5])
def test_matches_paper_equations(steps):
    mog = MogrifierLSTM(NI, NH, 1, steps=steps)
    x = _x()
    out, (h, c) = mog(x)
    for b in range(BS): _assert_close(out[b], _reference(mog, x[b]))
    _assert_close(h[0], out[:, -1])


@pytest.mark.parametrize("bi", [False, True])
def test_packed_states_equal_unpadded_runs(bi):
    mog = MogrifierLSTM(NI, NH, 2, bidirectional=bi, steps=3)
    x = _x()
    out, (h, c) = _run(mog, x, True)
    for b, n in enumerate(LENS.tolist()):
        ob, (hb, cb) = mog(x[b:b + 1, :n])  # alone, no padding
        _assert_close(out[b, :n], ob[0])
        _assert_close(h[:, b], hb[:, 0])
        _assert_close(c[:, b], cb[:, 0])


def test_sorted_packed_input():
    "enforce_sorted=True packs carry no sort indices; the output must follow suit."
    mog = MogrifierLSTM(NI, NH, 1, bidirectional=True, steps=2)
    x, lens = _x(), torch.tensor([6, 4, 3, 1])
    p = pack_padded_sequence(x, lens, batch_first=True)
    out, (h, _) = mog(p)
    assert out.sorted_indices is None and torch.equal(out.batch_sizes, p.batch_sizes)
    out = _unpack(out)
    for b, n in enumerate(lens.tolist()):
        ob, (hb, _) = mog(x[b:b + 1, :n])
        _assert_close(out[b, :n], ob[0])
        _assert_close(h[:, b], hb[:, 0])


def test_dropout_between_layers_only_in_training():
    mog = MogrifierLSTM(NI, NH, 2, dropout=0.5, steps=2)
    x = _x()
    mog.eval()
    e1, e2 = mog(x)[0], mog(x)[0]
    assert torch.equal(e1, e2)
    mog.train()
    t = mog(x)[0]
    assert not torch.allclose(t, e1, atol=1e-4)
    assert (t != 0).all()  # no dropout after the last layer
    one = MogrifierLSTM(NI, NH, 1, dropout=0.5, steps=2)
    assert torch.equal(one.train()(x)[0], one.eval()(x)[0])


# --- in the model ----------------------------------------------------------------------------

@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("attention", [False, True])
def test_seq2seq_with_each_cell(cell, attention):
    voc_src, voc_tgt, em, pad = 13, 11, 8, 1
    cfg = ModelConfig(emb_size=em, hidden=6, layers=2, attention=attention, cell=cell, mogrify_steps=3)
    emb_enc, emb_dec = nn.Embedding(voc_src, em, padding_idx=pad), nn.Embedding(voc_tgt, em, padding_idx=pad)
    model = get_seq2seq_model(cfg, emb_enc, emb_dec, bos_idx=2, eos_idx=3, pad_idx=pad)
    src = torch.randint(4, voc_src, (3, 7))
    src[0, 4:], src[2, 2:] = pad, pad  # uneven source lengths
    tgt = torch.randint(4, voc_tgt, (3, 5))
    tgt[:, 0] = 2
    assert model.eval()(src, tgt).shape == (3, 5, voc_tgt)
    model.train().pr_force = 0.5  # step-by-step path: the state goes through `step` each token
    logits = model(src, tgt)
    assert logits.shape == (3, 5, voc_tgt) and torch.isfinite(logits).all()
    logits.sum().backward()
    assert model.emb_enc.weight.grad.abs().sum() > 0  # gradient flows back through the encoder
