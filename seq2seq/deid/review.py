"""A review page: one self-contained HTML file showing what the model predicted, sentence by sentence.

Each predicted span is highlighted in its type's colour (`<mark class="span pred ...">`, its score
in the tooltip) under a legend of the types. With reference spans (`--ref`) each prediction is
marked correct, wrong-type (right offsets, other type) or spurious; reference spans the model
missed are shown dashed (inline, or listed under the sentence when they overlap a prediction);
per-type precision / recall / F1 (strict: same offsets and type) head the page, and a checkbox
shows only the sentences with an error. Inline CSS and a few lines of inline script: no network,
works offline, prints.
"""
import html
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ..text.scores import phi_scores, span_set_scores
from ..utils import atomic_write

__all__ = ["classify", "review_html", "write_review", "span_metrics"]

# pastel colours in the spirit of displaCy's palette; types take them in sorted order
_COLOURS = ["#7aecec", "#feca74", "#aa9cfc", "#bfeeb7", "#ff9561", "#c887fb", "#9cc9cc", "#ffeb80",
            "#ff8197", "#e4e7d2", "#bfe1d9", "#f0d0ff", "#c2f2a6", "#ddd1a9", "#a6e1f5", "#f5b7b1"]

_CSS = """
body{font:15px/1.6 system-ui,-apple-system,'Segoe UI',sans-serif;margin:1.5em auto;max-width:70em;color:#222;padding:0 1em}
h1{font-size:1.4em;margin:.2em 0} h2{font-size:1.05em;margin:1.2em 0 .3em;color:#444;border-bottom:1px solid #ddd}
.unit{white-space:pre-wrap;padding:.25em .5em;margin:.15em 0;border-left:3px solid #eee}
.unit.has-error{border-left-color:#d33}
body.errors-only .unit:not(.has-error), body.errors-only .doc:not(.has-error){display:none}
mark.span{padding:.1em .3em;border-radius:.3em;line-height:2.2;box-decoration-break:clone;-webkit-box-decoration-break:clone}
mark.span .lbl{font-size:.65em;font-weight:bold;text-transform:uppercase;margin-left:.4em;vertical-align:middle;opacity:.8}
mark.spurious{outline:2px solid #d33} mark.wrong-type{outline:2px dashed #e67e00}
mark.wrong-type .lbl::after{content:attr(data-ref)}
mark.missed{background:transparent !important;border:2px dashed #d33}
.missed-list{font-size:.85em;color:#a00;margin:0 0 .3em 1em}
.legend span{display:inline-block;padding:.1em .5em;margin:.15em;border-radius:.3em;font-size:.8em}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0} td,th{padding:.15em .7em;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}
.key mark{font-size:.85em;background:#eee}
"""

_JS = """document.getElementById('errors-only').addEventListener('change',function(e){
document.body.classList.toggle('errors-only',e.target.checked);});"""


def classify(pred: Sequence, ref: Sequence) -> Tuple[List[str], List]:
    """Each predicted span's status against the reference (`ok`, `wrong-type` or `spurious`),
    and the reference spans the prediction does not have at the same offsets (missed).
    Spans are anything with start, end, type."""
    by_off = {(r.start, r.end): r.type for r in ref}
    kinds = [("ok" if by_off[(p.start, p.end)] == p.type else "wrong-type") if (p.start, p.end) in by_off
             else "spurious" for p in pred]
    pred_off = {(p.start, p.end) for p in pred}
    return kinds, [r for r in ref if (r.start, r.end) not in pred_off]


def span_metrics(preds) -> Optional[Dict]:
    """Strict span P/R/F1, micro and per type, of DocumentPredictions that hold a reference, with the
    de-identification scores under `phi` (`scores.phi_scores`); None if none holds a reference."""
    pairs = [(p.doc.text, p.spans, p.doc.ref) for p in preds if p.doc.ref is not None]
    if not pairs: return None
    tri = lambda s: {(x.start, x.end, x.type) for x in s}  # noqa: E731
    res = span_set_scores([tri(s) for _, s, _ in pairs], [tri(r) for _, _, r in pairs])
    res["phi"] = phi_scores([t for t, _, _ in pairs], [s for _, s, _ in pairs], [r for _, _, r in pairs])
    return res


def _mark(text: str, sp, kind: str, colour: str, ref_type: str = "") -> str:
    "One highlighted span."
    cls = "span missed" if kind == "missed" else f"span pred {kind}"
    label = f"missed {sp.type}" if kind == "missed" else sp.type + (" \u2192 ref: " if ref_type else "")
    tip = f"reference {sp.type}" if kind == "missed" else f"{sp.type}, score {sp.score:.3f}, {kind}"
    ref = f' data-ref="{html.escape(ref_type)}"' if ref_type else ""
    return (f'<mark class="{cls}" data-type="{html.escape(sp.type)}"{ref} style="background:{colour}" '
            f'title="{html.escape(tip)}">{html.escape(text)}<span class="lbl">{html.escape(label)}</span></mark>')


def _unit_html(text: str, start: int, end: int, pred, ref, colours: Dict[str, str]) -> Tuple[str, bool]:
    "The HTML of one sentence `text[start:end]` and whether it holds an error."
    ps = [p for p in pred if start <= p.start < end]
    rs = None if ref is None else [r for r in ref if start <= r.start < end]
    kinds, missed = (["ok"] * len(ps), []) if rs is None else classify(ps, rs)
    ref_types = {} if rs is None else {(r.start, r.end): r.type for r in rs}
    inline = []    # missed spans shown in the text: inside the sentence, overlapping nothing shown
    for m in missed:
        if m.end <= end and not any(p.start < m.end and m.start < p.end for p in ps + inline): inline.append(m)
    items = sorted([(p, k) for p, k in zip(ps, kinds)] + [(m, "missed") for m in inline], key=lambda x: x[0].start)
    out, pos = [], start
    for sp, kind in items:
        rt = ref_types.get((sp.start, sp.end), "") if kind == "wrong-type" else ""
        out += [html.escape(text[pos:sp.start]), _mark(text[sp.start:sp.end], sp, kind, colours.get(sp.type, "#ddd"), rt)]
        pos = sp.end
    out.append(html.escape(text[pos:end]))
    listed = [m for m in missed if m not in inline]
    extra = "".join(f'<div class="missed-list">missed {html.escape(m.type)}: '
                    f'\u201c{html.escape(text[m.start:m.end])}\u201d</div>' for m in listed)
    err = bool(missed) or any(k != "ok" for k in kinds)
    return f'<div class="unit{" has-error" if err else ""}">{"".join(out)}</div>{extra}', err


def _metrics_table(m: Dict) -> str:
    """Per-type P/R/F1 (and the micro average) as an HTML table, with each type's PHI recall (share of
    its characters inside a predicted span of any type) when `m` holds the de-identification scores."""
    phi = m.get("phi", {})
    pt = phi.get("per_type", {})
    cell = lambda t: f"<td>{pt[t]['phi_recall']:.3f}</td>" if t in pt and pt[t]["phi_chars"] else "<td></td>"  # noqa: E731
    row = lambda name, s, r: (f"<tr><td>{html.escape(name)}</td><td>{s['precision']:.3f}</td><td>{s['recall']:.3f}</td>"  # noqa: E731
                              f"<td>{s['f1']:.3f}</td><td>{s['support']}</td>{r}</tr>")
    body = "".join(row(t, s, cell(t) if phi else "") for t, s in m["per_type"].items())
    total = f"<td>{phi['phi_recall']:.3f}</td>" if phi else ""
    head = "<th>PHI recall</th>" if phi else ""
    over = (f"<p>PHI recall {phi['phi_recall']:.4f}: {phi['leaked_chars']} of {phi['phi_chars']} reference PHI "
            f"characters lie outside every predicted span; over-redaction {phi['over_redaction']:.4f} (characters "
            "marked outside the reference, per PHI character).</p>") if phi else ""
    return ("<table><tr><th>type</th><th>precision</th><th>recall</th><th>F1</th><th>support</th>" + head + "</tr>"
            f"{body}{row('all (micro)', m, total)}</table>{over}")


def review_html(preds, title: str = "Predicted spans") -> str:
    """The whole review page for the DocumentPredictions `preds`, as a string."""
    types = sorted({s.type for p in preds for s in p.spans} | {r.type for p in preds for r in (p.doc.ref or [])})
    colours = {t: _COLOURS[i % len(_COLOURS)] for i, t in enumerate(types)}
    legend = "".join(f'<span style="background:{c}">{html.escape(t)}</span>' for t, c in colours.items())
    metrics = span_metrics(preds)
    docs, n_err = [], Counter()
    for p in preds:
        units = [_unit_html(p.doc.text, s, e, p.spans, p.doc.ref, colours) for s, e in p.sentences]
        err = any(e for _, e in units)
        n_err["units"] += sum(e for _, e in units)
        docs.append(f'<section class="doc{" has-error" if err else ""}"><h2>{html.escape(p.doc.doc_id)}</h2>'
                    + "".join(u for u, _ in units) + "</section>")
    n_spans = sum(len(p.spans) for p in preds)
    head = f"<p>{len(preds)} document(s), {n_spans} predicted span(s)."
    if metrics is not None:
        head += (f" {n_err['units']} sentence(s) with an error.</p>"
                 '<p class="key">Key: <mark class="span spurious">spurious</mark> '
                 '<mark class="span wrong-type">wrong type</mark> <mark class="span missed">missed</mark></p>'
                 + _metrics_table(metrics)
                 + '<p><label><input type="checkbox" id="errors-only"> show only sentences with errors</label></p>')
    else: head += "</p>"
    script = f"<script>{_JS}</script>" if metrics is not None else ""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>{head}"
            f'<div class="legend">{legend}</div>{"".join(docs)}{script}</body></html>\n')


def write_review(path, preds, title: str = "Predicted spans") -> Path:
    "Write the review page of `preds` to `path` atomically; returns the path."
    page = review_html(preds, title)
    return atomic_write(path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
