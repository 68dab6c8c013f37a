"""seq2seq/weak/builtin.py gazetteers: entries that start or end with punctuation match, whole words
only; entries too short to match are named (issue 22, case 5)."""
import pytest

from seq2seq.weak.builtin import gazetteer_lf


def _hits(lf, text):
    return [text[s:e] for s, e, _ in lf(text)]


@pytest.mark.parametrize("text, found", [
    ("I write c++ daily.", ["c++"]),
    ("Vive en Valencia (España) desde 2019.", ["Valencia (España)"]),
    ("Runs on .NET and C#.", [".NET", "C#"]),
    ("Not inside words: abc++ c++11 ASP.NET Valencia (España)x.", []),
    ("Málaga, not Málagas.", ["Málaga"]),
])
def test_punctuation_edged_entries_match_as_whole_words(text, found):
    lf = gazetteer_lf("g", ["c++", "Valencia (España)", ".NET", "C#", "Málaga"], "X", min_len=2)
    assert _hits(lf, text) == found


def test_entries_too_short_to_match_are_named():
    log = []
    lf = gazetteer_lf("gaz_x", ["OK", "A", "Lugo", "  "], "LOCATION:CITY", log=log.append)
    assert log == ["warning: gazetteer gaz_x: 2 entries shorter than 3 characters are never matched ('A', 'OK')"]
    assert _hits(lf, "OK, A Lugo.") == ["Lugo"]
