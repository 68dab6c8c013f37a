import csv
import importlib.util
import random
import re
from pathlib import Path

import pytest

from seq2seq.data import synth
from seq2seq.data.synth import PHI_TYPES, PLAIN_TEMPLATES, TEMPLATES, make_pairs, span_counts, write_csv
from seq2seq.text.tags import parse, strip_tags

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample.csv"


@pytest.fixture(scope="module")
def pairs():
    "The default output (3000 rows, seed 0), made once for the module."
    return make_pairs()


def _script():
    "scripts/make_sample_data.py loaded as a module (scripts/ is not a package)."
    spec = importlib.util.spec_from_file_location("make_sample_data", ROOT / "scripts" / "make_sample_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _read(path):
    with open(path, encoding="utf-8", newline="") as f: return list(csv.reader(f))


def test_same_seed_same_pairs_other_seed_differs():
    a, b, c = make_pairs(400, seed=3), make_pairs(400, seed=3), make_pairs(400, seed=4)
    assert a == b
    assert a != c
    assert len(a) == 400


def test_same_seed_byte_identical_csv(tmp_path):
    p1 = write_csv(make_pairs(300, seed=5), tmp_path / "a.csv")
    p2 = write_csv(make_pairs(300, seed=5), tmp_path / "sub" / "b.csv")
    assert p1.read_bytes() == p2.read_bytes()
    assert b"\r\n" not in p1.read_bytes()


def test_every_row_parses_and_strips_to_orig(pairs):
    for orig, ann in pairs:
        plain, spans = parse(ann)  # raises TagError on any malformed row
        assert plain == orig and "{" not in orig and "}" not in orig
        assert strip_tags(ann) == orig
        assert all(s.type in PHI_TYPES for s in spans)
        assert all(orig[s.start:s.end].strip() == orig[s.start:s.end] != "" for s in spans)


def test_every_type_occurs_and_quarter_plain(pairs):
    counts = span_counts(pairs)
    assert set(counts) == set(PHI_TYPES)
    assert min(counts.values()) >= 50
    share = sum(o == a for o, a in pairs) / len(pairs)
    assert 0.2 <= share <= 0.3


def test_rows_distinct_and_mostly_short_to_medium(pairs):
    assert len(set(pairs)) == len(pairs) == 3000
    words = [len(o.split()) for o, _ in pairs]
    assert sum(6 <= n <= 30 for n in words) / len(words) > 0.8
    assert max(words) <= 40


def test_surrogate_years_are_odd(pairs):
    years = [int(y) for _, ann in pairs
             for d in re.findall(r"\{\{DATE\}\}(.*?)\{\{/DATE\}\}", ann) for y in re.findall(r"\b2\d{3}\b", d)]
    assert len(years) > 300
    assert all(y % 2 == 1 and 2070 <= y <= 2110 for y in years)


def test_templates_many_and_all_render():
    assert len(TEMPLATES) + len(PLAIN_TEMPLATES) >= 80
    r = random.Random(0)
    for t in TEMPLATES + PLAIN_TEMPLATES:
        orig, ann = synth._pair_texts(synth._render(r, t))
        assert "{" not in orig and parse(ann)[0] == orig
        assert (orig == ann) == (t in PLAIN_TEMPLATES)


def test_article_agrees_with_number():
    assert synth._needs_an("80") and synth._needs_an("18") and synth._needs_an("8") and synth._needs_an("accountant")
    assert synth._needs_an("81-year-old")  # "an eighty-one-year-old"
    assert not synth._needs_an("7") and not synth._needs_an("180") and not synth._needs_an("teacher")
    r = random.Random(0)
    for _ in range(300):
        orig, _ = synth._pair_texts(synth._render(r, "She is a {AGE}-year-old {PROFESSION}."))
        assert re.match(r"She is an (8\d?|11|18)-", orig) or re.match(r"She is a (?!8|11-|18-)\d", orig), orig


def test_too_few_distinct_rows_raises(monkeypatch):
    monkeypatch.setattr(synth, "PLAIN_TEMPLATES", ["No acute distress."])
    assert make_pairs(1, seed=0, plain_share=1.0) == [("No acute distress.", "No acute distress.")]
    with pytest.raises(ValueError):
        make_pairs(2, seed=0, plain_share=1.0)


def test_main_writes_csv(tmp_path, capsys):
    out = tmp_path / "nested" / "s.csv"
    path = _script().main(["--rows", "50", "--seed", "2", "--out", str(out)])
    rows = _read(out)
    assert Path(path) == out
    assert rows[0] == ["orig_text", "annotated_text"]
    assert [tuple(r) for r in rows[1:]] == make_pairs(50, seed=2)
    assert "wrote 50 rows" in capsys.readouterr().out


def test_committed_sample_is_reproducible(tmp_path, pairs):
    assert SAMPLE.is_file(), "data/sample.csv missing: run python scripts/make_sample_data.py"
    fresh = write_csv(pairs, tmp_path / "sample.csv")
    assert SAMPLE.read_bytes() == fresh.read_bytes()


def test_fake_draws_each_phi_type_reproducibly():
    "The public surrogate generators: every PHI type has one, the same seed gives the same value."
    for kind in synth.PHI_TYPES:
        a, b = synth.fake(kind, random.Random(3)), synth.fake(kind, random.Random(3))
        assert isinstance(a, str) and a.strip() and a == b, kind
    assert set(synth.GENERATORS) == set(synth.PHI_TYPES)
    assert synth.fake("NAME:PATIENT", random.Random(0), "last") in synth.LAST
    with pytest.raises(KeyError, match="NAME:PATIENT"):
        synth.fake("PHONE", random.Random(0))


def test_word_lists_come_from_the_data_file():
    assert synth.WORDS_FILE.is_file() and synth.WORDS_FILE.parent.name == "synth"
    assert synth.FIRST == synth._load_words()["first"] and len(synth.TEMPLATES) > 50


def test_the_script_still_writes_the_committed_sample_byte_for_byte(tmp_path, capsys):
    "Redaction's surrogates moved to Faker (seq2seq/deid/surrogates.py); the training sample stays as it was."
    path = _script().main(["--out", str(tmp_path / "sample.csv")])
    assert Path(path).read_bytes() == SAMPLE.read_bytes()
