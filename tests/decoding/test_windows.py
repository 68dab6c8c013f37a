"""seq2seq/decoding/windows.py: over-long texts are cut at whitespace, decoded by window, joined faithfully."""
import pytest
from hypothesis import given, settings, strategies as st

from seq2seq.decoding.windows import count_tokens, split_windows
from seq2seq.text.tags import strip_tags, validate
from seq2seq.training.learner import load_seq2seq


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["Dr.", "Smith", " ", "  ", "\n", "3/4/2091", "{{", "}}", "{{DATE}}", "x" * 30, ","]),
                max_size=80).map("".join), st.integers(1, 12))
def test_windows_join_back_and_are_bounded(text, n):
    ws = split_windows(text, n)
    assert "".join(ws) == text
    assert all(count_tokens(w) <= n + w.count("{") + w.count("}") for w in ws)  # + a run of braces not cut
    for a, b in zip(ws, ws[1:]):  # never between two equal braces
        assert not (a[-1:] == b[:1] and b[:1] in ("{", "}"))


def test_a_short_text_is_one_window():
    assert split_windows("Seen by Dr. Smith.", 6) == ["Seen by Dr. Smith."]  # Seen by Dr . Smith .
    assert split_windows("Seen by Dr. Smith.", 5) == ["Seen by Dr. ", "Smith."]
    assert split_windows("a b c d e", 2) == ["a b ", "c d ", "e"]


@pytest.fixture(scope="module")
def learn(tiny_model):
    return load_seq2seq(tiny_model)


@pytest.mark.parametrize("decoder", ["greedy", "beam"])
def test_a_long_text_is_decoded_by_window_faithfully(learn, decoder):
    text = " ".join(["Seen by Dr. {{NAME}} Smith on 3/4/2091 at Boston General, MRN 0009174."] * 40)
    calls = []
    orig = type(learn.model).encode

    def spy(self, src):
        calls.append(src.size(1))
        return orig(self, src)
    type(learn.model).encode = spy
    try:
        out = learn.restore([text, "Short one."], decoder=decoder, max_tokens=50)
    finally:
        type(learn.model).encode = orig
    assert strip_tags(out[0]) == text and strip_tags(out[1]) == "Short one."
    validate(out[0])
    assert max(calls) <= 80  # no batch holds the whole 900-token text
