import io
from pathlib import Path

import pytest
import numpy as np
import torch
from torch import nn

from seq2seq.models.config import ModelConfig
from seq2seq.models.rnn import AdditiveAttention, Seq2SeqRNN, get_seq2seq_model

NX, NY, EM, NH = 19, 23, 8, 12          # source/target vocab sizes, embedding and hidden sizes
BOS, EOS, PAD = 2, 3, 1
SAMPLE = Path(__file__).resolve().parents[2] / 'data' / 'sample.csv'


def make(attention=False, cell='gru', layers=2, drop_mult=1.0, seed=0) -> Seq2SeqRNN:
    torch.manual_seed(seed)
    cfg = ModelConfig(emb_size=EM, hidden=NH, layers=layers, attention=attention, cell=cell, drop_mult=drop_mult)
    return get_seq2seq_model(cfg, nn.Embedding(NX, EM, padding_idx=PAD), nn.Embedding(NY, EM, padding_idx=PAD),
                             bos_idx=BOS, eos_idx=EOS, pad_idx=PAD)


def batch(seed=1, lens=(5, 3, 4), tl=6):
    "Right-padded src (bs, sl) with rows of `lens` real tokens, and tgt_in (bs, tl) starting with BOS."
    g = torch.Generator().manual_seed(seed)
    src = torch.full((len(lens), max(lens)), PAD)
    for i, n in enumerate(lens): src[i, :n] = torch.randint(4, NX, (n,), generator=g)
    tgt_in = torch.randint(4, NY, (len(lens), tl), generator=g)
    tgt_in[:, 0] = BOS
    return src, tgt_in


def hid_shape(hid):
    return tuple(h.shape for h in hid) if isinstance(hid, tuple) else hid.shape


# --- shapes ----------------------------------------------------------------------------------

@pytest.mark.parametrize('attention', [False, True])
@pytest.mark.parametrize('cell', ['gru', 'lstm'])
def test_shapes(attention, cell):
    m = make(attention, cell).eval()
    src, tgt_in = batch()
    bs, sl = src.shape
    ndir = 2 if attention else 1
    hid, enc_out, keys, mask = state = m.encode(src)
    want_hid = (2, bs, EM)
    assert hid_shape(hid) == ((want_hid, want_hid) if cell == 'lstm' else want_hid)
    assert enc_out.shape == (bs, sl, ndir * NH)
    assert (keys is None) != attention and (keys is None or keys.shape == (bs, sl, NH))
    assert mask.tolist() == (src != PAD).tolist()
    logits, state2 = m.step(tgt_in[:, 0], state)
    assert logits.shape == (bs, NY) and hid_shape(state2[0]) == hid_shape(hid)
    assert m(src, tgt_in).shape == (bs, tgt_in.size(1), NY)
    idx = torch.tensor([2, 2, 0, 1])
    sel = m.select_state(state, idx)
    assert hid_shape(sel[0]) == (((2, 4, EM),) * 2 if cell == 'lstm' else (2, 4, EM))
    assert torch.equal(sel[1], enc_out[idx]) and torch.equal(sel[3], mask[idx])
    assert (sel[2] is None) or torch.equal(sel[2], keys[idx])
    h0, h1 = (hid[0], sel[0][0]) if cell == 'lstm' else (hid, sel[0])
    assert torch.equal(h1[:, 0], h0[:, 2]) and torch.equal(h1[:, 1], h0[:, 2]) and torch.equal(h1[:, 2], h0[:, 0])
    # the selected rows decode exactly as the originals
    a, _ = m.step(tgt_in[idx, 0], sel)
    assert torch.allclose(a, logits[idx], atol=1e-6)


def test_config_and_builder():
    assert ModelConfig(emb_size=4).to_dict()['emb_size'] == 4
    with pytest.raises(ValueError, match='embedding size 8 != emb_size 9'):
        get_seq2seq_model(ModelConfig(emb_size=9), nn.Embedding(NX, EM), nn.Embedding(NY, 9), BOS, EOS)


@pytest.mark.parametrize('attention', [False, True])
def test_padding_does_not_change_a_row(attention):
    "A sentence gives the same encoder state and logits alone as in a padded batch (packing works)."
    m = make(attention).eval()
    src, tgt_in = batch(lens=(5, 2))
    with torch.no_grad():
        both = m(src, tgt_in)
        alone = m(src[1:, :2], tgt_in[1:])
        h_both, h_alone = m.encode(src)[0][:, 1], m.encode(src[1:, :2])[0][:, 0]
    assert torch.allclose(h_both, h_alone, atol=1e-6)
    assert torch.allclose(both[1], alone[0], atol=1e-5)


# --- tied weights ----------------------------------------------------------------------------

def test_tied_weights_one_parameter():
    m = make()
    assert m.out.weight is m.emb_dec.weight
    assert sum(p is m.emb_dec.weight for p in m.parameters()) == 1  # counted (and updated) once
    src, tgt_in = batch()
    opt = torch.optim.SGD(m.parameters(), lr=0.5)
    before = m.emb_dec.weight.detach().clone()
    m.train()
    m(src, tgt_in).logsumexp(-1).mean().backward()
    opt.step()
    assert m.out.weight is m.emb_dec.weight and not torch.equal(before, m.emb_dec.weight)


def test_tied_weights_survive_state_dict():
    m = make()
    with torch.no_grad(): m.emb_dec.weight.add_(1.0)
    buf = io.BytesIO()
    torch.save(m.state_dict(), buf)
    buf.seek(0)
    other = make(seed=5)
    other.load_state_dict(torch.load(buf))
    assert other.out.weight is other.emb_dec.weight
    assert torch.equal(other.out.weight, m.out.weight)
    src, tgt_in = batch()
    m.eval(), other.eval()
    assert torch.equal(m(src, tgt_in), other(src, tgt_in))


# --- teacher forcing -------------------------------------------------------------------------

def step_by_step(m, src, tgt_in):
    "Logits from feeding the truth one token at a time through `step`."
    state, res = m.encode(src), []
    for i in range(tgt_in.size(1)):
        logits, state = m.step(tgt_in[:, i], state)
        res.append(logits)
    return torch.stack(res, 1)


@pytest.mark.parametrize('attention', [False, True])
def test_full_forcing_equals_stepping(attention):
    m = make(attention, drop_mult=0.0)  # dropout off, so train and eval mode compute the same
    src, tgt_in = batch()
    m.train()
    m.pr_force = 1.0
    with torch.no_grad():
        one_call = m(src, tgt_in)
        m.eval()
        stepped = step_by_step(m, src, tgt_in)
        assert torch.allclose(m(src, tgt_in), stepped, atol=1e-5)
    assert torch.allclose(one_call, stepped, atol=1e-5)


@pytest.mark.parametrize('attention', [False, True])
def test_no_forcing_feeds_own_argmax(attention, monkeypatch):
    m = make(attention, drop_mult=0.0).train()
    m.pr_force = 0.0
    src, tgt_in = batch()
    fed, outs = [], []
    step = m.step

    def spy(dec_inp, state):
        logits, state = step(dec_inp, state)
        fed.append(dec_inp.clone()), outs.append(logits.detach())
        return logits, state

    monkeypatch.setattr(m, 'step', spy)
    with torch.no_grad():
        res = m(src, tgt_in)
    assert len(fed) == tgt_in.size(1) and torch.equal(fed[0], tgt_in[:, 0])
    for i in range(1, len(fed)):
        assert torch.equal(fed[i], outs[i - 1].argmax(-1))
    assert torch.equal(res, torch.stack(outs, 1))
    # only BOS is read from the target, so the rest of it cannot change the output
    other = tgt_in.clone()
    other[:, 1:] = (other[:, 1:] + 7) % NY
    with torch.no_grad():
        assert torch.equal(m(src, other), res)
        m.pr_force = 1.0
        assert not torch.allclose(m(src, other), res)


def test_eval_mode_always_forces():
    m = make(drop_mult=0.0).eval()
    m.pr_force = 0.0
    src, tgt_in = batch()
    with torch.no_grad():
        assert torch.allclose(m(src, tgt_in), step_by_step(m, src, tgt_in), atol=1e-5)


# --- attention -------------------------------------------------------------------------------

def test_attention_weights():
    m = make(attention=True).eval()
    src, tgt_in = batch(lens=(5, 2, 4))
    with torch.no_grad():
        w = m.attention_weights(src, tgt_in)
    assert w.shape == (3, tgt_in.size(1), src.size(1))
    assert torch.allclose(w.sum(-1), torch.ones(3, tgt_in.size(1)), atol=1e-6)
    pad = (src == PAD)[:, None].expand_as(w)
    assert (w[pad] == 0).all() and (w[~pad] > 0).all()
    with pytest.raises(ValueError, match='without attention'):
        make().attention_weights(src, tgt_in)


def test_additive_attention_by_hand():
    att = AdditiveAttention(2, 3, 4)
    enc_out = torch.randn(1, 3, 3)
    qry = torch.randn(1, 1, 2)
    mask = torch.tensor([[True, True, False]])
    ctx, w = att(qry, att.keys(enc_out), enc_out, mask)
    scores = torch.stack([att.v(torch.tanh(att.q(qry[0, 0]) + att.k(enc_out[0, j]))).squeeze() for j in range(2)])
    want = torch.softmax(scores, 0)
    assert torch.allclose(w[0, 0, :2], want, atol=1e-6) and w[0, 0, 2] == 0
    assert torch.allclose(ctx[0, 0], want @ enc_out[0, :2], atol=1e-6)


# --- a short training run --------------------------------------------------------------------

def test_short_training_lowers_loss(tmp_path):
    from seq2seq.data.pairs import read_pairs, seq2seq_data
    from seq2seq.training.learner import seq2seq_learner
    from seq2seq.utils import seed_everything
    seed_everything(0)  # the sortish sampler draws from numpy
    pairs = read_pairs(SAMPLE, verbose=False).head(60)
    data = seq2seq_data(pairs, path=tmp_path, bs=16, min_freq=1, seed=0)
    learn = seq2seq_learner(data, ModelConfig(arch="seed", emb_size=16, hidden=16, layers=1), cache_dir=tmp_path,
                            verbose=False, decode_limit=8)  # the tied Seq2SeqRNN (the default arch: test_aligned.py)
    learn.fit_one_cycle(3, 1e-2)
    losses = [float(x) for x in learn.recorder.losses]
    assert len(losses) == 3 * len(data.train_dl)
    n = len(data.train_dl)
    assert np.mean(losses[-n:]) < np.mean(losses[:n]), losses  # last epoch vs first
    assert learn.model.out.weight is learn.model.emb_dec.weight
    names = learn.recorder.metrics_names
    assert names[:4] == ['token_acc', 'bleu', 'chrf', 'span_f1'] and len(learn.recorder.metrics) == 3
    assert all(0 <= float(v) <= (1 if k in ('token_acc', 'span_f1') else 100)
               for k, v in zip(names, learn.recorder.metrics[-1]))


# ---------------------------------------------------------------- attention memory is bounded

def test_chunked_attention_equals_the_whole_and_its_gradients(monkeypatch):
    from seq2seq.models.rnn import AdditiveAttention
    torch.manual_seed(0)
    att = AdditiveAttention(6, 5, 4)
    qry, enc = torch.randn(3, 7, 6, requires_grad=True), torch.randn(3, 9, 5, requires_grad=True)
    mask = torch.ones(3, 9, dtype=torch.bool)
    mask[1, 6:] = False

    def run():
        ctx, w = att(qry, att.keys(enc), enc, mask)
        (ctx.sum() + (w ** 2).sum()).backward()
        res = [ctx.detach(), w.detach(), qry.grad.clone(), enc.grad.clone(), att.q.weight.grad.clone()]
        qry.grad = enc.grad = None
        att.zero_grad()
        return res
    whole = run()
    monkeypatch.setattr(AdditiveAttention, "max_elems", 3 * 9 * 4 * 2)  # two target positions a chunk
    for a, b in zip(whole, run()): assert torch.allclose(a, b, atol=1e-6)


def test_attention_never_builds_the_whole_4d_tensor(monkeypatch):
    "The largest (bs, n, sl, na) intermediate is one chunk, however long the target."
    from seq2seq.models.rnn import AdditiveAttention
    att, sizes = AdditiveAttention(8, 8, 16), []
    orig = AdditiveAttention._scores

    def spy(self, q, keys):
        sizes.append(q.size(0) * q.size(1) * keys.size(1) * q.size(2))
        return orig(self, q, keys)
    monkeypatch.setattr(AdditiveAttention, "_scores", spy)
    monkeypatch.setattr(AdditiveAttention, "max_elems", 10_000)
    enc = torch.randn(2, 50, 8)
    att(torch.randn(2, 400, 8), att.keys(enc), enc, torch.ones(2, 50, dtype=torch.bool))[0].sum().backward()
    assert len(sizes) >= 40 and max(sizes) <= 10_000  # 2 x 400 x 50 x 16 = 640,000 without chunks


def test_one_attention_pass_stays_far_below_the_whole_4d_tensor():
    "64 x 270 x 250 x 256 floats are 4.4 GB; a training pass of chunked attention peaks far below."
    import subprocess
    import sys
    code = ("import resource, torch; torch.set_num_threads(1);"
            "from seq2seq.models.rnn import AdditiveAttention as A;"
            "a = A(300, 512, 256); q = torch.randn(64, 270, 300, requires_grad=True);"
            "e = torch.randn(64, 250, 512, requires_grad=True); m = torch.ones(64, 250, dtype=torch.bool);"
            "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
            "a(q, a.keys(e), e, m)[0].sum().backward();"
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=600,
                         env={"PYTHONPATH": str(root), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip().splitlines()[-1]) < 1500  # MB above the imports (measured: ~450)
