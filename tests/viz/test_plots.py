import numpy as np
import pandas as pd
import pytest

from seq2seq.text.tags import TagError, strip_tags
from seq2seq.viz.plots import attention_inputs, plot_attention, plot_decoder_comparison, plot_lengths, plot_tag_counts

from tests.conftest import ROOT

PAIRS = pd.DataFrame({
    "orig_text": ["Seen by Dr. Smith on 3/4/2091.", "No fever.", "Call 555-1234 or Dr. Jones.", ""],
    "annotated_text": ["Seen by Dr. {{NAME:DOCTOR}}Smith{{/NAME:DOCTOR}} on {{DATE}}3/4/2091{{/DATE}}.",
                       "No fever.",
                       "Call {{CONTACT:PHONE}}555-1234{{/CONTACT:PHONE}} or Dr. {{NAME:DOCTOR}}Jones{{/NAME:DOCTOR}}.",
                       ""]})


def _heights(ax): return [p.get_height() for p in ax.patches]


def test_lengths_chars_one_panel_per_column():
    fig = plot_lengths(PAIRS, unit="chars", bins=4)
    assert len(fig.axes) == 2
    for ax, col in zip(fig.axes, PAIRS.columns):
        assert len(ax.patches) == 4
        assert sum(_heights(ax)) == 3  # the empty cell is left out
        longest = max(len(t) for t in PAIRS[col])
        assert f"max {longest}" in ax.get_title()


def test_lengths_tokens_count_model_tokens():
    from seq2seq.text.tokenizer import tokenize
    fig = plot_lengths(PAIRS, "annotated_text", bins=3)
    (ax,) = fig.axes
    assert len(ax.patches) == 3
    longest = max(len(tokenize(t)) for t in PAIRS.annotated_text if t)
    assert f"max {longest}" in ax.get_title()


def test_lengths_bad_arguments():
    with pytest.raises(ValueError, match="unit"): plot_lengths(PAIRS, unit="words")
    with pytest.raises(KeyError, match="nope"): plot_lengths(PAIRS, ["nope"])


def test_tag_counts_bars_per_type():
    (ax,) = plot_tag_counts(PAIRS).axes
    got = {t.get_text(): p.get_width() for t, p in zip(ax.get_yticklabels(), ax.patches)}
    assert got == {"NAME:DOCTOR": 2, "DATE": 1, "CONTACT:PHONE": 1}
    assert "4 spans, 3 types" in ax.get_title()


def test_tag_counts_categories_and_empty():
    (ax,) = plot_tag_counts(PAIRS, subtypes=False).axes
    got = {t.get_text(): p.get_width() for t, p in zip(ax.get_yticklabels(), ax.patches)}
    assert got == {"NAME": 2, "DATE": 1, "CONTACT": 1}
    (ax,) = plot_tag_counts(PAIRS, "orig_text").axes
    assert len(ax.patches) == 0 and "0 spans" in ax.get_title()
    with pytest.raises(TagError):
        plot_tag_counts(pd.DataFrame({"annotated_text": ["{{DATE}}open"]}))


def test_decoder_comparison_bars():
    res = {"greedy": {"bleu": 70.0, "exact_match": 0.5, "spans": {"f1": 1}, "sent_per_s": 100.0},
           "topk": {"bleu": 60.0, "exact_match": 0.25, "spans": {"f1": 1}, "sent_per_s": 90.0},
           "beam": {"bleu": 72.0, "exact_match": 0.75, "spans": {"f1": 1}, "sent_per_s": 20.0}}
    fig = plot_decoder_comparison(res)
    assert [ax.get_title() for ax in fig.axes] == ["bleu", "exact_match", "sent_per_s"]  # the dict is skipped
    for ax in fig.axes:
        assert _heights(ax) == [res[d][ax.get_title()] for d in res]
        assert [t.get_text() for t in ax.get_xticklabels()] == list(res)
    assert len(plot_decoder_comparison(res, ["bleu"]).axes) == 1
    with pytest.raises(ValueError): plot_decoder_comparison({})


@pytest.fixture(scope="module")
def attn_learn(tmp_path_factory):
    "A tiny attention model trained for one epoch on 100 sample rows."
    from seq2seq.training.learner import load_seq2seq
    from seq2seq.models.config import ModelConfig
    from seq2seq.training.config import TrainConfig
    from seq2seq.training.job import train
    from seq2seq.utils import seed_everything
    out = tmp_path_factory.mktemp("attn")
    pd.read_csv(ROOT / "data" / "sample.csv").iloc[:100].to_csv(out / "train.csv", index=False)
    seed_everything(0)
    train(TrainConfig(csv=str(out / "train.csv"), out=str(out), epochs=1, lr=1e-2, bs=32, decode_limit=8,
                      model=ModelConfig(emb_size=16, hidden=16, layers=1, attention=True)), log=lambda *a: None)
    return load_seq2seq(out / "model.safetensors")


TEXT = "Seen by Dr. Smith on 3/4/2091."


def test_attention_inputs_match_tokens(attn_learn):
    from seq2seq.text.tokenizer import detokenize
    src_toks, out_toks, src, tgt_in = attention_inputs(attn_learn, TEXT)
    assert detokenize(src_toks) == TEXT
    assert src.shape == (1, len(src_toks)) and tgt_in.shape == (1, len(out_toks))
    assert out_toks[-1] == "xxeos" and int(tgt_in[0, 0]) == attn_learn.model.bos_idx
    assert strip_tags(detokenize(out_toks)) == TEXT  # faithful decoding


def test_attention_heatmap_rows_sum_to_one(attn_learn):
    src_toks, out_toks, _, _ = attention_inputs(attn_learn, TEXT)
    fig = plot_attention(attn_learn, TEXT)
    ax = fig.axes[0]
    w = np.asarray(ax.images[0].get_array())
    assert w.shape == (len(out_toks), len(src_toks))
    np.testing.assert_allclose(w.sum(1), 1, atol=1e-5)
    assert [t.get_text() for t in ax.get_xticklabels()] == src_toks
    assert [t.get_text() for t in ax.get_yticklabels()] == out_toks


def test_attention_needs_attention_model(tiny_model):
    from seq2seq.training.learner import load_seq2seq
    with pytest.raises(ValueError, match="no attention"):
        plot_attention(load_seq2seq(tiny_model), TEXT)
