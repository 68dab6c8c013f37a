"""seq2seq/deid/review.py: the review page (notes without a reference: contents, spans to check lowest score first,
the redacted copy beside the original, filters; with one: error marks and P/R/F1) and how it renders in a real browser."""
import re
import shutil
import subprocess

import pytest

from seq2seq.deid.documents import DocumentPrediction
from seq2seq.deid.review import classify, review_html, span_metrics, type_colours, write_review
from seq2seq.formats.documents import Document
from seq2seq.text.tags import ScoredSpan, Span

TEXT = "Seen by Dr. Smith on 3/4/2091.\r\nCall Jones at 555-0199 <now> & then.\n\nBoston Mass General."


def _preds(with_ref: bool = True):
    "One document: 4 predictions (ok, wrong type, spurious, ok) against 4 references (one missed, one mis-typed)."
    pred = [ScoredSpan(12, 17, "NAME:DOCTOR", .9), ScoredSpan(21, 29, "DATE", .8), ScoredSpan(37, 42, "NAME:DOCTOR", .4),
            ScoredSpan(46, 54, "CONTACT:PHONE", .7)]
    ref = [Span(12, 17, "NAME:DOCTOR"), Span(21, 29, "DATE"), Span(37, 42, "NAME:PATIENT"), Span(46, 54, "CONTACT:PHONE"),
           Span(70, 76, "LOCATION:CITY")]
    pred = pred[:3] + [ScoredSpan(61, 65, "DATE", .2)] + pred[3:]
    ref = ref if with_ref else None
    return [DocumentPrediction(Document("d1", TEXT, ref), pred, [(0, 30), (32, 68), (70, len(TEXT))])]


def test_classify():
    p = _preds()[0]
    kinds, missed = classify(p.spans, p.doc.ref)
    assert kinds == ["ok", "ok", "wrong-type", "spurious", "ok"]
    assert missed == [Span(70, 76, "LOCATION:CITY")]


def test_metrics_are_strict_span_scores():
    m = span_metrics(_preds())
    assert (m["precision"], m["recall"]) == (3 / 5, 3 / 5)
    assert m["per_type"]["NAME:PATIENT"]["recall"] == 0 and m["per_type"]["DATE"]["precision"] == 0.5
    assert span_metrics(_preds(with_ref=False)) is None


def test_page_marks_every_span_and_each_error():
    page = review_html(_preds())
    assert len(re.findall(r'<mark class="span pred ', page)) == 5
    assert page.count('class="span pred spurious"') == 1 and page.count('class="span pred wrong-type"') == 1
    assert page.count('class="span missed"') == 2             # the missed span + its key
    assert "&lt;now&gt; " in page and "&amp; th<span" in page and "<now>" not in page      # text escaped
    assert page.count('<div class="row single has-error">') == 2 and "errors-only" in page and "<table>" in page
    assert "NAME:PATIENT" in page and "0.600" in page          # per-type rows and the micro P


def test_page_without_reference_has_no_error_marks():
    page = review_html(_preds(with_ref=False))
    assert "has-error" not in page.replace(".has-error", "") and "<table>" not in page.replace('<table class="check">', "")
    body = page.split("</style>")[1].split("<script>")[0]
    assert "missed" not in body and "errors-only" not in body
    assert len(re.findall(r'<mark class="span pred ok"', page)) == 5


def test_page_is_self_contained():
    page = review_html(_preds())
    assert not re.search(r"""src\s*=|href\s*=\s*"[^#]|@import|url\(|https?://""", page)    # in-page links only


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name): return shutil.which(name)
    pytest.skip("no headless browser (install the Debian package chromium)")


def _browser(exe, *args, timeout=120):
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_in_a_real_browser(tmp_path):
    exe = _chromium()
    preds = _preds()
    path = write_review(tmp_path / "review.html", preds)
    dom = _browser(exe, "--dump-dom", path.as_uri()).stdout
    marks = re.findall(r'<mark class="span pred [^"]*"', dom)
    assert len(marks) == sum(len(p.spans) for p in preds) == 5
    png = tmp_path / "shot.png"
    _browser(exe, f"--screenshot={png}", "--window-size=1000,700", path.as_uri())
    from PIL import Image
    img = Image.open(png).convert("RGB")
    assert img.size == (1000, 700)
    colours = img.getcolors(maxcolors=1 << 20)
    # a blank page is one colour; text on highlights gives many, and the type colours show up
    assert len(colours) > 50
    assert any(abs(r - 0x7a) < 8 and abs(g - 0xec) < 8 and abs(b - 0xec) < 8 for _, (r, g, b) in colours)


def test_overlapping_reference_spans_are_scored_and_drawn_once():
    doc = Document("d", "Dr. John Smith", [Span(4, 14, "NAME:DOCTOR"), Span(9, 14, "NAME:PATIENT")])
    p = DocumentPrediction(doc, [], [(0, 14)])
    assert span_metrics([p])["recall"] == 0 and span_metrics([p])["per_type"]["NAME:PATIENT"]["support"] == 1
    page = review_html([p])
    assert page.count('<mark class="span missed"') == 2 and "missed NAME:PATIENT: \u201cSmith\u201d" in page


REPL = [["Dr. X", "[DATE]", "Pérez", "**/**", "555-1234"]]


def test_the_real_case_contents_lowest_scores_first_and_the_redacted_copy():
    page = review_html(_preds(with_ref=False), replacements=REPL)
    assert '<ol class="toc"><li><a href="#doc0">d1</a> (5 span(s), lowest score 0.20)</li></ol>' in page
    rows = re.findall(r'<tr data-type="([^"]+)" data-score="([\d.]+)">', page)
    assert [float(sc) for _, sc in rows] == sorted(float(sc) for _, sc in rows) and rows[0] == ("DATE", "0.2000")
    assert page.count('<div class="unit redacted">') == 3 and page.count('class="span repl"') == 5
    assert "Pérez" in page and '<span class="sc">0.90</span>' in page     # replacements and visible scores
    for i in range(5): assert f'id="s0-{i}"' in page and f'href="#s0-{i}"' in page


def test_a_wrong_type_label_names_both_types():
    page = review_html(_preds())
    assert '<span class="lbl">NAME:DOCTOR (ref: NAME:PATIENT)</span>' in page


def test_colours_are_distinct_for_any_number_of_types():
    for n in (3, 16, 17, 40, 200):
        cols = type_colours([f"T{i}" for i in range(n)])
        assert len(set(cols.values())) == n and all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in cols.values())


def test_filters_in_a_real_browser(tmp_path):
    exe = _chromium()
    path = write_review(tmp_path / "review.html", _preds(with_ref=False), replacements=REPL)
    dom = _browser(exe, "--dump-dom", path.as_uri() + "#hide=DATE&max=0.75").stdout
    filtered = re.findall(r'<mark class="span [^"]*filtered[^"]*" (?:id="[^"]*" )?data-type="([^"]+)" data-score="([\d.]+)"', dom)
    # DATE hidden (2 marks on each side), and every span scored above 0.75 (the 0.9 NAME:DOCTOR, both sides)
    assert sorted(filtered) == sorted([("DATE", "0.8000"), ("DATE", "0.8000"), ("DATE", "0.2000"), ("DATE", "0.2000"),
                                       ("NAME:DOCTOR", "0.9000"), ("NAME:DOCTOR", "0.9000")])
    assert 'value="DATE"' in dom and len(re.findall(r'<tr [^>]*class="filtered"', dom)) == 3
    assert '<output id="max-score-value">0.75</output>' in dom
    plain = _browser(exe, "--dump-dom", path.as_uri()).stdout
    assert "filtered" not in plain.split("</style>")[1].split("<script>")[0]


def test_wrong_type_shows_both_types_in_a_real_browser(tmp_path):
    exe = _chromium()
    path = write_review(tmp_path / "review.html", _preds())
    dom = _browser(exe, "--dump-dom", path.as_uri()).stdout
    assert re.search(r'class="span pred wrong-type"[^>]*>Jones<span class="lbl">NAME:DOCTOR \(ref: NAME:PATIENT\)</span>', dom)
