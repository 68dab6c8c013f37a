"Mention swapping (seq2seq/data/augment.py) and its use in the training data."
import numpy as np
import pandas as pd
import pytest

from seq2seq.data.augment import AugmentConfig, mention_pools, swap_mentions, swap_row
from seq2seq.errors import ConfigError
from seq2seq.text.tags import parse, spans, strip_tags

ROWS = pd.DataFrame({
    "orig_text": ["Seen by Dr. Smith on 3/4/2091.", "Call Ann Lee at {{x}}.", "No names here.",
                  "Dr. Jones, 12/1/2080."],
    "annotated_text": ["Seen by Dr. {{NAME:DOCTOR}}Smith{{/NAME:DOCTOR}} on {{DATE}}3/4/2091{{/DATE}}.",
                       "Call {{NAME:DOCTOR}}Ann Lee{{/NAME:DOCTOR}} at {\\{x}\\}.", "No names here.",
                       "Dr. {{NAME:DOCTOR}}Jones{{/NAME:DOCTOR}}, {{DATE}}12/1/2080{{/DATE}}."]})


def test_pools_hold_each_types_distinct_mentions():
    pools = mention_pools(ROWS.annotated_text)
    assert pools == {"NAME:DOCTOR": ["Ann Lee", "Jones", "Smith"], "DATE": ["12/1/2080", "3/4/2091"]}


def test_swap_row_keeps_context_and_types_and_draws_from_the_pool():
    pools = {"NAME:DOCTOR": ["Maria del Mar Ruiz"], "DATE": ["1 de mayo"]}
    out = swap_row(ROWS.annotated_text[0], pools, np.random.default_rng(0))
    assert out == "Seen by Dr. {{NAME:DOCTOR}}Maria del Mar Ruiz{{/NAME:DOCTOR}} on {{DATE}}1 de mayo{{/DATE}}."
    plain, sps = parse(out)
    assert [plain[s.start:s.end] for s in sps] == ["Maria del Mar Ruiz", "1 de mayo"]


def test_swap_row_rate_and_missing_pool_keep_the_mention():
    pools = {"DATE": ["1 de mayo"]}  # no NAME:DOCTOR pool: that span keeps its text
    assert swap_row(ROWS.annotated_text[0], pools, np.random.default_rng(0)) == \
        "Seen by Dr. {{NAME:DOCTOR}}Smith{{/NAME:DOCTOR}} on {{DATE}}1 de mayo{{/DATE}}."
    rng = np.random.default_rng(0)
    assert all(swap_row(a, mention_pools(ROWS.annotated_text), rng, rate=1e-9) == a for a in ROWS.annotated_text)


def test_swap_mentions_copies_only_training_rows_with_spans_and_columns_agree():
    out = swap_mentions(ROWS, "orig_text", "annotated_text", train_idx=[0, 1, 2], copies=2, seed=1)
    assert len(out) == 4  # rows 0 and 1 twice; row 2 has no span, row 3 is held out
    assert list(out.columns) == list(ROWS.columns)
    assert all(strip_tags(a) == o for o, a in zip(out.orig_text, out.annotated_text))
    # mentions come from the training rows alone: "Jones" (held out) never appears
    assert not any("Jones" in a or "12/1/2080" in a for a in out.annotated_text)
    assert {s.type for a in out.annotated_text for s in spans(a)} == {"NAME:DOCTOR", "DATE"}
    assert "{{x}}" in out.orig_text[1] and "{{x}}" in out.orig_text[3]  # row 1's escaped braces stay text


def test_swap_mentions_fraction_is_seeded_and_zero_gives_nothing():
    big = pd.concat([ROWS.iloc[:1]] * 200, ignore_index=True)
    a = swap_mentions(big, "orig_text", "annotated_text", range(200), copies=0.5, seed=3)
    b = swap_mentions(big, "orig_text", "annotated_text", range(200), copies=0.5, seed=3)
    assert 60 < len(a) < 140 and a.equals(b)
    assert len(swap_mentions(big, "orig_text", "annotated_text", range(200), copies=0)) == 0


def test_swap_mentions_strip_task_reads_the_annotated_source():
    out = swap_mentions(ROWS, "annotated_text", "orig_text", train_idx=[0, 1], copies=1, seed=0)
    assert len(out) == 2 and all(strip_tags(a) == o for o, a in zip(out.orig_text, out.annotated_text))


def test_config_checks_values():
    with pytest.raises(ConfigError): AugmentConfig(copies=-1)
    with pytest.raises(ConfigError): AugmentConfig(rate=0)


def test_training_data_gets_the_swapped_rows_and_keeps_validation_as_is(tmp_path):
    from seq2seq.data.pairs import seq2seq_data
    pairs = pd.concat([ROWS] * 10, ignore_index=True)
    plain = seq2seq_data(pairs, path=tmp_path, valid_pct=0.2, seed=0, bs=4)
    aug = seq2seq_data(pairs, path=tmp_path, valid_pct=0.2, seed=0, bs=4, augment=AugmentConfig(copies=1))
    n_span_rows = sum(1 for i in range(len(pairs)) if i not in set(plain.valid_idx) and spans(pairs.annotated_text[i]))
    assert len(aug.train_ds) == len(plain.train_ds) + n_span_rows
    assert list(aug.valid_idx) == list(plain.valid_idx)
    assert [str(x) for x in aug.valid_ds.y] == [str(x) for x in plain.valid_ds.y]
