"""seq2seq/models/aligned.py and seq2seq/models/features.py: candidate loss, pointers, open-vocabulary source,
export/load in a fresh process, every decoder on the default model."""
import json
import random
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from seq2seq.decoding.search import generate
from seq2seq.models.aligned import (
    AlignedSeq2Seq, UniformDropout, _SegmentMax, copy_pointers, frequent_rows, shift_target)
from seq2seq.models.config import ModelConfig
from seq2seq.models.faithful import FaithfulConstraint, check_faithful, faithful_states
from seq2seq.models.features import N_SHAPES, ngram_rows, subword_vectors, word_shape, word_vector
from seq2seq.models.losses import CandidateLoss
from seq2seq.text.scores import span_scores
from seq2seq.text.tags import strip_tags

ROOT = Path(__file__).resolve().parents[2]
SRC = ["xxunk", "xxpad", "xxbos", "xxeos", "el", "paciente", "Ana", "de", "40", "años", ".", "xxsp"]
TGT = ["xxunk", "xxpad", "xxbos", "xxeos", "el", "paciente", "de", "años", ".", "{{NAME}}", "{{/NAME}}",
       "{{AGE}}", "{{/AGE}}", "Ana", "xxsp", "xxfake"]
T = {t: i for i, t in enumerate(TGT)}


def _model(objective="faithful", seed=0):
    torch.manual_seed(seed)
    m = AlignedSeq2Seq(ModelConfig(emb_size=8, hidden=6, sub_dim=4, buckets=50, word_dim=4, shape_dim=3,
                                   objective=objective), SRC, TGT)
    m.fill_features(torch.randn(50, 4), frequent_rows(SRC, {t: 5 for t in SRC}))
    return m.eval()


def _ids(toks): return torch.tensor([[T[t] for t in toks]])


# ---------------------------------------------------------------- candidate loss

def _allowed_by_constraint(tgt_row, o2c):
    "Allowed id sets before each gold token, by stepping FaithfulConstraint along the gold target."
    copies = [t for t in tgt_row if t not in o2c and t not in o2c.values() and t not in (T["xxeos"], T["xxpad"])]
    con = FaithfulConstraint([copies], o2c, T["xxeos"], len(TGT))
    st, res = con.init("cpu"), []
    for tok in tgt_row:
        if tok == T["xxpad"]: break
        res.append(torch.nonzero(con.allowed(st)[0]).flatten().tolist())
        st = con.advance(st, torch.tensor([tok]))
    return res


def test_candidate_loss_is_full_cross_entropy_renormalised_over_the_candidates():
    m = _model()
    o2c = {T["{{NAME}}"]: T["{{/NAME}}"], T["{{AGE}}"]: T["{{/AGE}}"]}
    rows = [["{{NAME}}", "Ana", "{{/NAME}}", "de", "{{AGE}}", "xxunk", "{{/AGE}}", "años", "xxeos"],
            ["el", "paciente", ".", "xxeos", "xxpad", "xxpad", "xxpad", "xxpad", "xxpad"]]
    tgt = torch.tensor([[T[t] for t in r] for r in rows])
    out = torch.randn(2, tgt.size(1), 8)
    loss = CandidateLoss(m.gold_columns())(m.candidate_logits(out, tgt), tgt)
    full = out @ m.emb_dec.weight.t() + m.out_bias                    # (bs, tl, V)
    terms = []
    for b in range(2):
        for t, ok in enumerate(_allowed_by_constraint(tgt[b].tolist(), o2c)):
            gold = int(tgt[b, t])
            assert gold in ok
            terms.append(-(full[b, t, gold] - full[b, t, ok].logsumexp(0)))
    assert len(terms) == 13                                              # the 5 pads are not counted
    assert torch.allclose(loss, torch.stack(terms).mean(), atol=1e-5)
    # and it is not the full-vocabulary loss
    assert not torch.allclose(loss, F.cross_entropy(full.flatten(0, 1), tgt.flatten(), ignore_index=T["xxpad"]))


def test_shift_target_rebuilds_the_gold_next_tokens():
    tgt = _ids(["xxbos", "el", ".", "xxeos"]).repeat(2, 1)
    tgt[1] = _ids(["xxbos", ".", "xxeos", "xxpad"])
    gold = tgt[:, 1:]
    assert shift_target(tgt[:, :-1], T["xxeos"], T["xxpad"]).tolist() == gold.tolist()


# ---------------------------------------------------------------- pointers

def test_pointers_with_spans_at_start_end_adjacent_and_unknown_words():
    toks = ["xxbos", "{{NAME}}", "Ana", "{{/NAME}}", "{{AGE}}", "xxunk", "{{/AGE}}", "de", "{{NAME}}", "xxunk",
            "{{/NAME}}"]
    m = _model()
    ptr = copy_pointers(_ids(toks), m.is_copy)[0].tolist()
    # each input reads the source position of the next copy: BOS and markers do not move it
    assert ptr == [0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4]
    # faithful_states (training) sees the same pointer before each gold token
    gold = _ids(toks[1:] + ["xxeos"])
    assert faithful_states(gold, m.is_open, m.is_close, T["xxeos"], T["xxpad"])[1][0].tolist() == ptr


@pytest.mark.parametrize("objective", ["faithful", "full"])
def test_step_by_step_decoding_sees_what_training_sees(objective):
    "The pointer kept in the decoding state equals the cumsum of training: same logits at every step."
    m = _model(objective)
    src = torch.tensor([[6, 7, 8, 9]])                                # Ana de 40 años (40 is unknown to TGT)
    tgt_in = _ids(["xxbos", "{{NAME}}", "Ana", "{{/NAME}}", "de", "{{AGE}}", "xxunk", "{{/AGE}}", "años"])
    gold = shift_target(tgt_in, T["xxeos"], T["xxpad"])
    with torch.no_grad():
        train_out = m(src, tgt_in)[0]
        state, steps = m.encode(src), []
        for t in range(tgt_in.size(1)):
            logits, state = m.step(tgt_in[:, t], state)
            steps.append(logits[0])
    if objective == "full":
        assert torch.allclose(torch.stack(steps), train_out, atol=1e-5)
        return
    for t, lg in enumerate(steps):                     # the gold token's logit, and the finite ids, agree
        col = int(m.gold_columns()[gold[0, t]])
        assert torch.isclose(lg[gold[0, t]], train_out[t, col], atol=1e-5)
        assert torch.isfinite(lg).sum() == len(m.cand_ids) + (t < 8)  # markers + EOS (+ the next copy)


# ---------------------------------------------------------------- the decoding step

_TGT_IN = [["xxbos", "{{NAME}}", "Ana", "{{/NAME}}", "de", "{{AGE}}", "xxunk", "{{/AGE}}", "años", "xxeos"],
           ["xxbos", "el", "paciente", "{{NAME}}", "xxunk", "{{/NAME}}", ".", "xxeos", "xxpad", "xxpad"]]
_SRC = torch.tensor([[6, 7, 8, 9], [4, 5, 8, 10]])       # Ana de 40 años / el paciente 40 .


def _steps(m, step, **kw):
    "Logits and states of `step` fed the inputs of _TGT_IN one by one (past the end of the source too)."
    res, state = [], m.encode(_SRC)
    with torch.no_grad():
        for t in range(len(_TGT_IN[0])):
            logits, state = step(torch.tensor([T[r[t]] for r in _TGT_IN]), state, **kw)
            res.append((logits, state))
    return res


@pytest.mark.parametrize("objective", ["faithful", "full"])
def test_column_logits_are_the_full_logits_at_those_columns(objective):
    m = _model(objective)
    # no {{AGE}} pair and no "Ana": a marker and a copy outside the columns land in the cut-off column
    cols = torch.tensor(sorted(T[t] for t in ["xxunk", "xxpad", "xxbos", "xxeos", "el", "paciente", "de",
                                              "años", ".", "{{NAME}}", "{{/NAME}}"]))
    full, part = _steps(m, m.step), _steps(m, m.step_columns, cols=cols)
    for (a, sa), (b, sb) in zip(full, part):
        assert b.shape == (2, len(cols))
        if objective == "faithful": assert torch.equal(b, a[:, cols])         # the same arithmetic
        else: assert torch.allclose(b, a[:, cols], atol=1e-6)
        assert all(torch.equal(x, y) for x, y in zip(sa, sb))
    if objective == "faithful":   # {{NAME}}, {{/NAME}}, EOS and the next copy, where that is a column
        finite = torch.stack([torch.isfinite(b).sum(1) for b, _ in part])
        assert finite.max() == 4 and finite.min() == 3


def test_the_hand_written_gru_step_equals_torch_s(monkeypatch):
    m = _model()
    assert m._cell_by_hand() and not m.train()._cell_by_hand()
    m.eval()
    lstm = AlignedSeq2Seq(ModelConfig(emb_size=8, hidden=6, sub_dim=4, buckets=50, word_dim=4, shape_dim=3,
                                      cell="lstm"), SRC, TGT).eval()
    assert not lstm._cell_by_hand()
    by_hand = _steps(m, m.step)
    monkeypatch.setattr(AlignedSeq2Seq, "_cell_by_hand", lambda self: False)
    module = _steps(m, m.step)
    for (a, sa), (b, sb) in zip(by_hand, module):
        assert torch.equal(torch.isfinite(a), torch.isfinite(b))
        assert torch.allclose(a[torch.isfinite(a)], b[torch.isfinite(b)], atol=1e-6)
        assert torch.allclose(sa[0], sb[0], atol=1e-6) and torch.equal(sa[3], sb[3])     # hidden state, pointer


class _NoColumns:
    "A model without `step_columns`: generate's column view cuts its full-vocabulary logits instead."

    def __init__(self, m): self.m = m

    def __getattr__(self, name):
        if name == "step_columns": raise AttributeError(name)
        return getattr(self.m, name)


@pytest.mark.parametrize("decoder", ["greedy", "beam"])
def test_column_steps_decode_as_the_full_steps(decoder):
    torch.manual_seed(0)
    src = torch.randint(4, len(SRC) - 1, (12, 7))
    src[torch.arange(7)[None] >= torch.randint(1, 8, (12, 1))] = T["xxpad"]
    for seed in range(3):
        m = _model(seed=seed)
        a = generate(m, src, constraint=m.constraint(src), decoder=decoder, beam_size=3, n_best=2)
        b = generate(_NoColumns(m), src, constraint=m.constraint(src), decoder=decoder, beam_size=3, n_best=2)
        assert [[h.tokens for h in x] for x in a] == [[h.tokens for h in x] for x in b]
        assert [h.score for x in a for h in x] == pytest.approx([h.score for x in b for h in x], abs=1e-6)


# ---------------------------------------------------------------- features

def test_shapes_tell_words_apart():
    assert len({word_shape(w) for w in ["ana", "Ana", "ANA", "40", "4a", "A.", "x", "{{NAME}}"]}) == 8
    assert word_shape("xxsp") == word_shape("\n") == N_SHAPES - 1
    assert all(0 <= word_shape(w) < N_SHAPES for w in ["", "Ñandú", "日本", "-", "...."])


def test_subword_vectors_are_the_mean_of_the_float_rows():
    "Only the rows a batch uses are made float: the same vectors as a bag over the whole float table."
    ngrams = (torch.randn(50, 4) * 3).half()
    words = ["Ana", "", "Wenceslao", "日本", "x", "Ana"]
    rows = [ngram_rows(w, 50) for w in words]
    offsets = torch.tensor([sum(map(len, rows[:i])) for i in range(len(rows))])
    ref = F.embedding_bag(torch.tensor([i for r in rows for i in r]), ngrams.float(), offsets, mode="mean")
    got = subword_vectors(words, ngrams)
    assert got.dtype == torch.float and torch.equal(got, ref) and got[1].abs().sum() == 0   # "" has no n-gram
    assert torch.equal(subword_vectors(words, ngrams.float()), ref)


def test_subword_vectors_match_fasttext_inside_and_outside_its_dictionary(tmp_path):
    fasttext = pytest.importorskip("fasttext")
    txt = tmp_path / "t.txt"
    # a real corpus: on tiny synthetic text fastText's SGD often stops with "Encountered NaN"
    texts = pd.read_csv(ROOT / "data" / "sample.csv")["orig_text"].iloc[:1500]
    txt.write_text("\n".join(texts) + "\nGarcía Málaga €uro\n", encoding="utf-8")
    # trained in a fresh process: inside the test process fastText often stops with "Encountered NaN"
    code = ("import sys, fasttext; fasttext.train_unsupervised(sys.argv[1], model='skipgram', dim=8, minn=3, maxn=6, "
            "minCount=1, epoch=5, thread=1, bucket=997, verbose=0).save_model(sys.argv[2])")
    subprocess.run([sys.executable, "-c", code, str(txt), str(tmp_path / "ft.bin")], check=True, timeout=300)
    ft = fasttext.load_model(str(tmp_path / "ft.bin"))
    mat = torch.from_numpy(ft.get_input_matrix())
    nw = len(ft.words)
    assert ft.get_word_id("García") >= 0 and ft.get_word_id("Zúñiga") < 0   # both branches are checked
    for w in ["García", "Málaga", "€uro", "the", "Zúñiga", "日本語", "xq"]:
        wid = ft.get_word_id(w)
        mine = word_vector(w, mat[nw:], mat[wid] if wid >= 0 else None)
        assert np.allclose(mine.numpy(), ft.get_word_vector(w), atol=1e-6), w
    assert np.allclose(subword_vectors(["Zúñiga"], mat[nw:])[0].numpy(), ft.get_word_vector("Zúñiga"), atol=1e-6)
    assert len(ngram_rows("ab", 997)) == 3                                  # <ab, ab>, <ab>


# ---------------------------------------------------------------- a tiny trained default model

_SYL = ["ba", "ri", "to", "mel", "san", "cor", "li", "den", "ga", "ve", "lo", "mu", "ner", "tis"]


def _names(seed: int, n: int = 60) -> list:
    "Made-up capitalised names, so the model must read names from context and shape, not memorise a few."
    rng = random.Random(seed)
    return ["".join(rng.choice(_SYL) for _ in range(rng.randint(2, 3))).capitalize() for _ in range(n)]


_FIRST, _LAST = _names(1), _names(2)


def _row(rng, first, last):
    name, age, day = f"{rng.choice(first)} {rng.choice(last)}", str(rng.randint(18, 99)), rng.randint(1, 28)
    date = f"{day:02d}/{rng.randint(1, 12):02d}/{rng.randint(1990, 2019)}"
    tpl = rng.choice(["El paciente {n} de {a} años ingresó el {d}.", "Paciente: {n}, {a} años.",
                      "Fecha de ingreso: {d}.", "Se explica el tratamiento al paciente {n}.", "Sin alergias conocidas."])
    fill = dict(n=f"{{{{NAME}}}}{name}{{{{/NAME}}}}", a=f"{{{{AGE}}}}{age}{{{{/AGE}}}}", d=f"{{{{DATE}}}}{date}{{{{/DATE}}}}")
    ann = tpl.format(**fill)
    return strip_tags(ann), ann


@pytest.fixture(scope="module")
def tiny_default(tmp_path_factory):
    "A default-config model trained briefly on 300 template sentences; its export path."
    from seq2seq.training.config import TrainConfig
    from seq2seq.training.job import train
    from seq2seq.utils import seed_everything
    out = tmp_path_factory.mktemp("aligned")
    rng = random.Random(0)
    rows = [_row(rng, _FIRST, _LAST) for _ in range(300)]
    pd.DataFrame(rows, columns=["orig_text", "annotated_text"]).to_csv(out / "train.csv", index=False)
    seed_everything(0)
    train(TrainConfig(csv=str(out / "train.csv"), out=str(out), lang="es", epochs=6, lr=1e-2, bs=32,
                      decode_limit=16, model=ModelConfig(buckets=5000)), log=lambda *a: None)
    return out / "model.safetensors"


_UNSEEN = ["El paciente Wenceslao Zubizarreta de 107 años ingresó el 31/12/2031.",
           "Paciente: Quiteria Barrenechea, 104 años."]
_GOLD = ["El paciente {{NAME}}Wenceslao Zubizarreta{{/NAME}} de {{AGE}}107{{/AGE}} años ingresó el "
         "{{DATE}}31/12/2031{{/DATE}}.", "Paciente: {{NAME}}Quiteria Barrenechea{{/NAME}}, {{AGE}}104{{/AGE}} años."]

_FRESH = """
import json, sys, torch
from seq2seq.training.learner import load_seq2seq
learn = load_seq2seq(sys.argv[1])
m = learn.model
ids = m.numericalize([["Wenceslao", "Zubizarreta", "Wenceslao"]])[0]
feats, _ = m._features(ids[None])
stats = dict(m.src_stats)
print(json.dumps(dict(out=learn.restore(json.loads(sys.argv[2])), vec=feats[0].tolist(), ids=ids.tolist(),
                      stats=stats, cfg=m.cfg.to_dict())))
"""


def test_unseen_words_get_distinct_vectors_that_survive_export(tiny_default):
    from seq2seq.training.learner import load_seq2seq
    learn = load_seq2seq(tiny_default)
    m = learn.model
    ids = m.numericalize([["Wenceslao", "Zubizarreta", "Wenceslao"]])[0]
    assert ids.tolist()[0] == ids.tolist()[2] >= len(m.src_itos) and ids[1] >= len(m.src_itos)
    with torch.no_grad(): feats, _ = m._features(ids[None])
    assert not torch.allclose(feats[0, 0], feats[0, 1])              # two unseen words differ
    res = subprocess.run([sys.executable, "-c", _FRESH, str(tiny_default), json.dumps(_UNSEEN)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    fresh = json.loads(res.stdout.strip().splitlines()[-1])
    assert torch.allclose(torch.tensor(fresh["vec"]), feats[0], atol=1e-6)  # same vectors in a fresh process
    assert fresh["stats"] == {"tokens": 3, "oov": 3}


def test_fresh_process_restores_unseen_names_and_numbers(tiny_default):
    from seq2seq.training.learner import load_seq2seq
    train_text = " ".join(pd.read_csv(tiny_default.parent / "train.csv")["orig_text"])
    for w in ["Wenceslao", "Zubizarreta", "Quiteria", "Barrenechea", "107", "104", "31/12/2031"]:
        assert w not in train_text
    res = subprocess.run([sys.executable, "-c", _FRESH, str(tiny_default), json.dumps(_UNSEEN)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    out = json.loads(res.stdout.strip().splitlines()[-1])["out"]
    assert [strip_tags(o) for o in out] == _UNSEEN
    assert span_scores(out, _GOLD)["f1"] == 1.0, out
    assert load_seq2seq(tiny_default).restore(_UNSEEN) == out


def test_state_dict_rebuilds_the_model(tiny_default):
    "ModelConfig + both vocabularies + state_dict are all a model needs (issue 10's safe format)."
    from seq2seq.models.registry import build_model
    from seq2seq.training.learner import load_seq2seq
    m = load_seq2seq(tiny_default).model
    twin = build_model(ModelConfig(**m.cfg.to_dict()), m.src_itos, m.tgt_itos)
    twin.load_state_dict(m.state_dict())
    twin.eval()
    src = [m.numericalize([["Paciente", ":", "Zoe"]])[0]]
    twin.numericalize([["Paciente", ":", "Zoe"]])
    a = generate(m, torch.stack(src), decoder="beam", beam_size=3)
    b = generate(twin, torch.stack(src), decoder="beam", beam_size=3)
    assert a[0][0].tokens == b[0][0].tokens and a[0][0].score == pytest.approx(b[0][0].score)


@pytest.mark.parametrize("decoder", ["greedy", "topk", "nucleus", "beam"])
def test_every_decoder_is_faithful_on_the_default_model(tiny_default, decoder):
    from seq2seq.training.learner import load_seq2seq
    learn = load_seq2seq(tiny_default)
    rng = random.Random(1)
    texts = [_row(rng, ["Zoe", "Íñigo"], ["Aguirre", "Echeverría"])[0] for _ in range(12)] + _UNSEEN
    outs = learn.restore(texts, decoder=decoder, seed=0)
    assert [strip_tags(o) for o in outs] == texts


def test_beam_size_one_is_greedy_on_the_default_model(tiny_default):
    from seq2seq.training.learner import load_seq2seq
    learn = load_seq2seq(tiny_default)
    rng = random.Random(2)
    texts = [_row(rng, _FIRST, ["Zabala"])[0] for _ in range(10)]
    assert learn.restore(texts, decoder="beam", beam_size=1, length_penalty=0.0) == learn.restore(texts)


def test_char_ids_spell_any_string_and_keep_both_ends_of_long_words():
    from seq2seq.models.features import N_CHARS, char_ids
    ids = char_ids(["Ana", "ana", "Zubizarreta", "日本", "a" * 10 + "MIDDLE" + "b" * 10])
    assert ids.shape == (5, 22) and int(ids.max()) < N_CHARS
    assert ids[0, :5].tolist()[0] == 1 and ids[0, 4] == 2 and ids[0, 5:].eq(0).all()   # <A n a> then padding
    assert not torch.equal(ids[0], ids[1]) and not torch.equal(ids[3], ids[0])
    a, b = char_ids(["a", "b"])[:, 1].tolist()
    assert ids[4].tolist() == [1] + [a] * 10 + [b] * 10 + [2]                      # middle dropped, both ends kept


def test_character_features_are_per_string_for_known_and_unseen_words():
    m = _model()
    a = m.numericalize([["Ana", "Wenceslao", "de"]])[0][None]
    with torch.no_grad(): fa = m._char_features(a)[0]
    b = m.numericalize([["Wenceslao", "xxpad", "Ana", "Zubizarreta"]])[0][None]
    with torch.no_grad(): fb = m._char_features(b)[0]
    assert fa.shape == (3, m.cfg.char_dim)
    assert torch.allclose(fa[0], fb[2]) and torch.allclose(fa[1], fb[0])  # same string, same features
    assert not torch.allclose(fb[0], fb[3])                               # two unseen words differ


def test_char_features_get_gradients_and_can_be_turned_off():
    m = _model().train()
    src = torch.tensor([[6, 7, 8, 9]])
    tgt_in = _ids(["xxbos", "{{NAME}}", "Ana", "{{/NAME}}", "de", "{{AGE}}", "xxunk", "{{/AGE}}", "años"])
    m(src, tgt_in).clamp(min=-50).sum().backward()
    assert m.char_conv.weight.grad.abs().sum() > 0 and m.char_emb.weight.grad.abs().sum() > 0
    off = AlignedSeq2Seq(ModelConfig(emb_size=8, hidden=6, sub_dim=4, buckets=50, word_dim=4, shape_dim=3,
                                     char_dim=0, ctx_skip=False), SRC, TGT)
    assert not hasattr(off, "char_conv") and "src_chars" not in off.state_dict()
    assert "src_chars" not in m.state_dict()  # derived from the vocabulary, not saved


def _char_features_on_the_grid(m, toks):
    "The character features of `toks` as first written: every (word, position) of the padded grid, masked, amax."
    from seq2seq.models.features import char_ids
    ch = char_ids(toks)
    e = F.pad(m.char_emb(ch), (0, 0, 1, 1))
    h = m.char_conv(torch.cat([e[:, :-2], e[:, 1:-1], e[:, 2:]], -1))
    return torch.relu(h.masked_fill((ch == 0)[..., None], -1e4).amax(1))


def test_char_features_equal_the_masked_max_over_the_padded_grid():
    "Values and gradients; repeated characters make tied windows, one word is cut to 20 characters."
    m = _model().train()
    toks = ["Ana", "aaaa", "Wenceslao", "de", "Ana", "1111-1111", "Zubizarreta" * 3, "40", "x", "años"]
    src = m.numericalize([toks])[0][None]
    params = [m.char_emb.weight, m.char_conv.weight, m.char_conv.bias]
    ours, ref = m._char_features(src)[0], _char_features_on_the_grid(m, toks)
    assert torch.allclose(ours, ref, rtol=0, atol=1e-6)                 # equal here; GEMMs may round otherwise
    g = torch.randn_like(ref)
    for a, b in zip(torch.autograd.grad((ours * g).sum(), params), torch.autograd.grad((ref * g).sum(), params)):
        assert torch.allclose(a, b, atol=1e-5)


def test_segment_max_is_amax_per_group_and_tied_rows_share_the_gradient():
    x = torch.tensor([[1., 5.], [1., 2.], [0., 5.], [3., -1.], [2., -1.]], requires_grad=True)
    seg = torch.tensor([0, 0, 0, 1, 1])
    top = _SegmentMax.apply(x, seg, 2)
    assert top.tolist() == [[1., 5.], [3., -1.]]
    top.backward(torch.tensor([[1., 2.], [4., 6.]]))
    assert x.grad.tolist() == [[0.5, 1.], [0.5, 0.], [0., 1.], [4., 3.], [0., 3.]]


def test_uniform_dropout_keeps_1_minus_p_scaled_and_is_the_identity_in_eval():
    m = _model().train()
    assert [(type(d), d.p) for d in (m.in_drop, m.emb_dec_drop, m.out_drop)] == \
        [(UniformDropout, 0.15), (UniformDropout, 0.1), (UniformDropout, 0.3)]
    drop, x = UniformDropout(0.3), torch.rand(200_000) + 1
    y = drop(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.005
    assert torch.allclose(y[kept], x[kept] / 0.7)
    assert not torch.equal(drop(x) != 0, kept)                             # a fresh mask each call
    assert drop.eval()(x) is x and UniformDropout(0.0)(x) is x
    assert UniformDropout(1.0)(x).eq(0).all()


def test_model_files_written_before_the_character_features_keep_their_architecture(tmp_path):
    from seq2seq.models.modelfile import _config
    doc = {"config": {k: v for k, v in ModelConfig().to_dict().items() if k not in ("char_dim", "ctx_skip")}}
    cfg = _config(doc, tmp_path / "old.safetensors")
    assert cfg.char_dim == 0 and cfg.ctx_skip is False
    assert _config({"config": ModelConfig().to_dict()}, tmp_path / "new.safetensors") == ModelConfig()


def test_decision_plot_rows_are_the_greedy_choices(tiny_default):
    from seq2seq.training.learner import load_seq2seq
    from seq2seq.viz.plots import attention_inputs, plot_decisions
    from seq2seq.text.tags import is_marker
    learn = load_seq2seq(tiny_default)
    text = _UNSEEN[0]
    _, out_toks, _, _ = attention_inputs(learn, text)
    ax = plot_decisions(learn, text).axes[0]
    p = np.asarray(ax.images[0].get_array())
    cols = [t.get_text() for t in ax.get_xticklabels()]
    assert p.shape == (len(out_toks), len(cols)) and cols[0] == "copy" and "{{NAME}}" in cols
    assert (p.sum(1) <= 1 + 1e-5).all() and (p.sum(1) > 0.9).all()  # the columns left out hold < 1% each
    assert [t.get_text() for t in ax.get_yticklabels()] == out_toks
    # greedy took the most likely allowed candidate at every step, and the plot reads its own output
    assert [cols[j] for j in p.argmax(1)] == [t if is_marker(t) or t == "xxeos" else "copy" for t in out_toks]
    with pytest.raises(ValueError, match="aligned"):
        plot_decisions(SimpleNamespace(model=object()), text)
