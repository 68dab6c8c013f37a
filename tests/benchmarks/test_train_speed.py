"""Smoke tests of benchmarks/*.py at tiny sizes: each `main([...])` runs and ends with its JSON line."""
import json
import math

import pytest
import torch
from torch import nn

from benchmarks import cells as bench_cells, train_speed
from seq2seq.models.config import ModelConfig
from seq2seq.models.rnn import get_seq2seq_model

TINY_SPEED = ["--emb-size", "16", "--hidden", "12", "--layers", "2", "--bs", "4", "--vocab", "40",
              "--src-len", "5", "--tgt-len", "6", "--steps", "2", "--repeats", "2", "--markers", "6"]
VARIANTS = {"reference", "full_forcing", "pr_force_0.5", "attention", "faithful", "faithful_floor"}


def _last_json(capsys) -> dict:
    "The last printed line, parsed as JSON (it must be one)."
    lines = capsys.readouterr().out.strip().splitlines()
    return json.loads(lines[-1])


def test_train_speed_main_prints_json(capsys):
    ret = train_speed.main(TINY_SPEED)
    res = _last_json(capsys)
    assert {"tokens_per_s", "tokens_per_s_median", "speedup_vs_step_loop", "fraction_of_floor",
            "peak_rss_mb", "threads", "config"} <= set(res)
    assert set(res["tokens_per_s"]) == VARIANTS
    assert all(v > 0 and math.isfinite(v) for v in res["tokens_per_s"].values())
    tps = res["tokens_per_s"]
    assert res["speedup_vs_step_loop"] == pytest.approx(tps["full_forcing"] / tps["reference"])
    assert res["faithful_vs_step_loop"] == pytest.approx(tps["faithful"] / tps["reference"])
    assert res["fraction_of_floor"] == pytest.approx(tps["faithful"] / tps["faithful_floor"])
    assert res["config"]["tgt_len"] == 6 and res["config"]["vocab"] == 40
    assert res["peak_rss_mb"] > 0 and res["threads"] >= 1
    assert ret["tokens_per_s"] == pytest.approx(tps)


def test_reference_is_our_model_decoded_step_by_step():
    "Same weights -> same logits: the benchmark times the loop, not a different model."
    torch.manual_seed(0)
    em, nh, nl, voc = 10, 8, 2, 30
    ours = get_seq2seq_model(ModelConfig(emb_size=em, hidden=nh, layers=nl),
                             nn.Embedding(voc, em, padding_idx=1), nn.Embedding(voc, em, padding_idx=1),
                             bos_idx=2, eos_idx=3, pad_idx=1).eval()
    ref = train_speed.StepLoopSeq2Seq(voc, voc, em, nh, nl).eval()
    ref.load_state_dict(ours.state_dict())
    src, tgt = torch.randint(4, voc, (3, 7)), torch.randint(4, voc, (3, 5))
    with torch.no_grad():
        assert torch.allclose(ref(src, tgt), ours(src, tgt), atol=1e-5)


def test_cells_main_prints_json_and_plots(tmp_path, capsys):
    out = tmp_path / "out"
    bench_cells.main(["--rows", "48", "--epochs", "2", "--emb-size", "8", "--hidden", "8", "--layers", "1",
                      "--bs", "16", "--workers", "0", "--out", str(out)])
    res = _last_json(capsys)
    assert {"valid_loss", "seconds", "final_token_acc"} <= set(res)
    for key in ("valid_loss", "seconds", "final_token_acc"):
        assert set(res[key]) == {"gru", "lstm", "mogrifier"}
    for cell, losses in res["valid_loss"].items():
        assert len(losses) == 2 and all(math.isfinite(v) and v > 0 for v in losses), cell
        assert 0 <= res["final_token_acc"][cell] <= 1 and res["seconds"][cell] > 0
    png = out / "cells.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
