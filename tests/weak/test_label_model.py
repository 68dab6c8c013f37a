"""seq2seq/weak/label_model.py on long texts: linear in the text's length, windows that never cut a vote
(issue 22, case 4: two 1 MB cells took 94 s with vote, and hmm was still running after 170 s)."""
import contextlib
import re
import signal

import pytest

from seq2seq.text.tags import Span, strip_tags
from seq2seq.weak.builtin import regex_lf
from seq2seq.weak.functions import apply_lfs
from seq2seq.weak.label_model import LabelModelConfig, aggregate, silver_pairs, windows

SENT = "Seen by Dr. Smith on 3/4/2091 at the clinic of St. Mary; MRN 4417302 noted.\n"
LFS = [regex_lf("date", r"\d{1,2}/\d{1,2}/\d{4}", "DATE"), regex_lf("doctor", r"(?<=Dr\. )[A-Z]\w+", "NAME:DOCTOR"),
       regex_lf("mrn", r"(?<=MRN )\d+", "ID:MEDICALRECORD")]


@contextlib.contextmanager
def _within(seconds: int):
    "Fail (TimeoutError) if the block runs longer than `seconds`: a guard against a hang, not a benchmark."
    def boom(*_): raise TimeoutError(f"took more than {seconds} s")
    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try: yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


PLAIN = "The patient reports mild pain in the left knee after walking, no fever, appetite preserved.\n"


@pytest.mark.parametrize("method", ["vote", "hmm"])
def test_a_1mb_cell_is_labelled_in_seconds_at_exact_offsets(method, monkeypatch):
    "A whole record in one cell: 1 MB of text, a sentence with PHI every ~25 KB (its cost: benchmarks/weak_long.py)."
    import seq2seq.weak.label_model as lm
    import skweak.generative, skweak.voting  # noqa: F401,E401  (imported before the clock starts)
    text = (SENT + PLAIN * 270) * (1_000_000 // (len(SENT) + 270 * len(PLAIN)) + 1)
    tokens, real_doc = [], lm._doc
    def doc(vocab, t, votes):
        d, toks = real_doc(vocab, t, votes)
        tokens.append(len(toks))
        return d, toks
    monkeypatch.setattr(lm, "_doc", doc)
    with _within(150):     # before the fix token_cuts alone took minutes here
        votes = apply_lfs([text, "no PHI here"], LFS, log=pytest.fail)
        spans, confs = aggregate(votes, LabelModelConfig(method), log=pytest.fail)
    want = {(m.start(), m.end()) for m in re.finditer(r"3/4/2091", text)}
    assert {(s.start, s.end) for s in spans[0] if s.type == "DATE"} == want and spans[1] == []
    assert len(text) > 1_000_000 and len(want) == 41
    assert len(tokens) <= 2 * 41 + 1 and max(tokens) < 4_000  # windows (~10,000 characters) where a function voted
    pairs = silver_pairs(votes, spans, confs, log=pytest.fail)
    assert strip_tags(pairs.annotated_text[0]) == text


def test_windows_cover_the_text_and_never_cut_inside_a_span():
    text = "a. " * 50 + "Dr. Ana Maria. López\nb. " + "c. " * 50
    sp = Span(text.index("Ana"), text.index("López") + 5, "NAME")
    wins = windows(text, [sp], 40)
    assert wins[0][0] == 0 and wins[-1][1] == len(text) and all(a[1] == b[0] for a, b in zip(wins, wins[1:]))
    assert not any(sp.start < e < sp.end for _, e in wins) and max(e - s for s, e in wins) <= 40 + len("Ana Maria. López")
    assert windows("short text", [], 40) == [(0, 10)]


def test_windows_change_nothing_for_the_vote():
    "A majority vote decides token by token: cut in windows or whole, the same spans."
    text = SENT * 40
    votes = apply_lfs([text], LFS, log=pytest.fail)
    whole = aggregate(votes, LabelModelConfig("vote", window=10 ** 6), log=pytest.fail)
    cut = aggregate(votes, LabelModelConfig("vote", window=200), log=pytest.fail)
    assert whole == cut and len(whole[0][0]) == 120
