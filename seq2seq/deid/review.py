"""A review page: one self-contained HTML file to check what the model marked and what the redacted copy holds.

Made for the real case, notes without a reference: a table of contents (each note's number of spans
and its lowest score), then "spans to check", every span of every note with the lowest scores first
(what a reviewer looks at), then one section per note, sentence by sentence, the original beside the
redacted copy. Each span is highlighted in its type's colour with its type and score written on it
(repeats, `origin="repeat"`, say so); colours stay distinct for any number of types. Filters by type
and by score (show the spans scored at most X) dim the others; they are kept in the address
(`#hide=DATE,AGE&max=0.5`), so a filtered view can be bookmarked or sent.

With reference spans (`--ref`) each prediction is marked correct, wrong-type (its label names both
types) or spurious; reference spans the model missed are shown dashed (inline, or listed under the
sentence when they overlap a prediction), on the redacted side too, where they are leaks; per-type
precision / recall / F1 and PHI recall head the page, and a checkbox shows only the sentences with an
error. Inline CSS and a few lines of inline script: no network, works offline, prints.
"""
import colorsys
import html
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ..text.scores import phi_scores, span_set_scores
from ..utils import atomic_write

__all__ = ["classify", "review_html", "write_review", "span_metrics", "type_colours"]

# pastel colours in the spirit of displaCy's palette for the first types; then hues a golden angle apart
_COLOURS = ["#7aecec", "#feca74", "#aa9cfc", "#bfeeb7", "#ff9561", "#c887fb", "#9cc9cc", "#ffeb80",
            "#ff8197", "#e4e7d2", "#bfe1d9", "#f0d0ff", "#c2f2a6", "#ddd1a9", "#a6e1f5", "#f5b7b1"]
_MAX_LISTED = 500   # rows of "spans to check"

_CSS = """
body{font:15px/1.6 system-ui,-apple-system,'Segoe UI',sans-serif;margin:1.5em auto;max-width:90em;color:#222;padding:0 1em}
h1{font-size:1.4em;margin:.2em 0} h2{font-size:1.05em;margin:1.2em 0 .3em;color:#444;border-bottom:1px solid #ddd}
.row{display:grid;grid-template-columns:1fr 1fr;gap:1em} .row.single{grid-template-columns:1fr}
.unit{white-space:pre-wrap;padding:.25em .5em;margin:.15em 0;border-left:3px solid #eee}
.unit.redacted{background:#fafafa}
.row.has-error .unit{border-left-color:#d33}
body.errors-only .row:not(.has-error), body.errors-only .doc:not(.has-error){display:none}
mark.span{padding:.1em .3em;border-radius:.3em;line-height:2.2;box-decoration-break:clone;-webkit-box-decoration-break:clone}
mark.span .lbl,mark.span .sc{font-size:.65em;font-weight:bold;margin-left:.4em;vertical-align:middle;opacity:.8}
mark.span .lbl{text-transform:uppercase} mark.span .sc{font-weight:normal}
mark.spurious{outline:2px solid #d33} mark.wrong-type{outline:2px dashed #e67e00}
mark.missed{background:transparent !important;border:2px dashed #d33}
mark.repeat{border-bottom:2px dotted #555}
mark.filtered{background:transparent !important;outline:none;border:none} mark.filtered .lbl, mark.filtered .sc{display:none}
tr.filtered{display:none}
.missed-list{font-size:.85em;color:#a00;margin:0 0 .3em 1em}
.legend label{display:inline-block;padding:.1em .5em;margin:.15em;border-radius:.3em;font-size:.8em;cursor:pointer}
.filters{position:sticky;top:0;background:#fff;padding:.3em 0;border-bottom:1px solid #eee;z-index:1}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0} td,th{padding:.15em .7em;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left} td.t{text-align:left;white-space:pre-wrap}
.key mark{font-size:.85em;background:#eee}
.toc{columns:3 18em;font-size:.9em}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1em;font-weight:bold;color:#666;font-size:.85em}
"""

_JS = """(function(){
var boxes=[].slice.call(document.querySelectorAll('input.type-filter')),slider=document.getElementById('max-score'),
shown=document.getElementById('max-score-value'),errs=document.getElementById('errors-only');
function apply(){var off={};boxes.forEach(function(b){if(!b.checked)off[b.value]=1;});
var max=parseFloat(slider.value);shown.textContent=max.toFixed(2);
[].forEach.call(document.querySelectorAll('[data-type]'),function(e){var s=e.getAttribute('data-score');
e.classList.toggle('filtered',!!(off[e.getAttribute('data-type')]||(s!==null&&parseFloat(s)>max)));});
if(errs)document.body.classList.toggle('errors-only',errs.checked);
var h=[],o=Object.keys(off);if(o.length)h.push('hide='+o.map(encodeURIComponent).join(','));if(max<1)h.push('max='+max);
if(errs&&errs.checked)h.push('errors');try{history.replaceState(null,'',h.length?'#'+h.join('&'):location.pathname);}catch(e){}}
var q={};location.hash.replace(/^#/,'').split('&').forEach(function(kv){if(!kv)return;var i=kv.indexOf('=');
q[i<0?kv:kv.slice(0,i)]=i<0?'':decodeURIComponent(kv.slice(i+1));});
if(q.hide!==undefined){var hs=q.hide.split(',');boxes.forEach(function(b){b.checked=hs.indexOf(b.value)<0;});}
if(q.max!==undefined)slider.value=q.max;if(errs&&q.errors!==undefined)errs.checked=true;
if(q.hide!==undefined||q.max!==undefined||q.errors!==undefined)apply();else shown.textContent=parseFloat(slider.value).toFixed(2);
boxes.concat([slider]).concat(errs?[errs]:[]).forEach(function(e){e.addEventListener('input',apply);e.addEventListener('change',apply);});
})();"""


def type_colours(types: Sequence[str]) -> Dict[str, str]:
    "A distinct background colour for each type: the palette, then pastel hues a golden angle apart."
    res = {}
    for i, t in enumerate(types):
        if i < len(_COLOURS): res[t] = _COLOURS[i]
        else:
            k = i - len(_COLOURS)
            r, g, b = colorsys.hls_to_rgb((k * 0.381966) % 1, (0.78, 0.70, 0.85)[k % 3], 0.75)
            res[t] = f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
    for t, c in list(res.items()):   # rounding may meet an earlier colour: step the blue channel until free
        while list(res.values()).count(c) > 1:
            c = c[:5] + f"{(int(c[5:], 16) + 1) % 256:02x}"
            res[t] = c
    return res


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


def _mark(text: str, sp, kind: str, colour: str, ref_type: str = "", anchor: str = "") -> str:
    "One highlighted span of the original: its text, type label (both types when wrong) and score."
    e = html.escape
    if kind == "missed":
        return (f'<mark class="span missed" data-type="{e(sp.type)}" title="{e("reference " + sp.type + ", missed")}">'
                f'{e(text)}<span class="lbl">missed {e(sp.type)}</span></mark>')
    origin = getattr(sp, "origin", "model")
    label = sp.type + (f" (ref: {ref_type})" if ref_type else "")
    tip = f"{sp.type}, score {sp.score:.3f}, {kind}" + (", a repeat of a predicted string" if origin == "repeat" else "")
    ident = f' id="{anchor}"' if anchor else ""
    return (f'<mark class="span pred {kind}{" repeat" if origin == "repeat" else ""}"{ident} data-type="{e(sp.type)}" '
            f'data-score="{sp.score:.4f}" style="background:{colour}" title="{e(tip)}">{e(text)}'
            f'<span class="lbl">{e(label)}</span><span class="sc">{sp.score:.2f}</span></mark>')


def _repl_mark(new: str, sp, colour: str) -> str:
    "One replacement in the redacted copy."
    e = html.escape
    return (f'<mark class="span repl" data-type="{e(sp.type)}" data-score="{sp.score:.4f}" style="background:{colour}" '
            f'title="{e(sp.type)}, score {sp.score:.3f}">{e(new)}<span class="lbl">{e(sp.type)}</span></mark>')


def _join(text: str, start: int, end: int, items) -> str:
    "`text[start:end]` escaped, with the pieces of `items` ((span, html) by start) in place of their spans."
    out, pos = [], start
    for sp, piece in items:
        out += [html.escape(text[pos:sp.start]), piece]
        pos = max(pos, sp.end)
    out.append(html.escape(text[pos:end]))
    return "".join(out)


def _unit_html(text: str, start: int, end: int, pred, ref, colours: Dict[str, str], repl: Optional[Dict[int, str]],
               k: int) -> Tuple[str, bool]:
    """One sentence `text[start:end]`: the original (and the redacted copy when `repl` maps span positions
    to replacements), and whether it holds an error."""
    ps = [(i, p) for i, p in enumerate(pred) if start <= p.start < end]
    rs = None if ref is None else [r for r in ref if start <= r.start < end]
    kinds, missed = (["ok"] * len(ps), []) if rs is None else classify([p for _, p in ps], rs)
    ref_types = {} if rs is None else {(r.start, r.end): r.type for r in rs}
    inline = []    # missed spans shown in the text: inside the sentence, overlapping nothing shown
    for m in missed:
        if m.end <= end and not any(p.start < m.end and m.start < p.end for p in [p for _, p in ps] + inline): inline.append(m)
    miss = [(m, _mark(text[m.start:m.end], m, "missed", "")) for m in inline]
    orig = sorted([(p, _mark(text[p.start:p.end], p, kd, colours.get(p.type, "#ddd"),
                             ref_types.get((p.start, p.end), "") if kd == "wrong-type" else "", f"s{k}-{i}"))
                   for (i, p), kd in zip(ps, kinds)] + miss, key=lambda x: x[0].start)
    cells = f'<div class="unit">{_join(text, start, end, orig)}</div>'
    if repl is not None:
        red = sorted([(p, _repl_mark(repl[i], p, colours.get(p.type, "#ddd"))) for i, p in ps] + miss,
                     key=lambda x: x[0].start)
        cells += f'<div class="unit redacted">{_join(text, start, end, red)}</div>'
    listed = [m for m in missed if m not in inline]
    extra = "".join(f'<div class="missed-list">missed {html.escape(m.type)}: '
                    f'\u201c{html.escape(text[m.start:m.end])}\u201d</div>' for m in listed)
    err = bool(missed) or any(kd != "ok" for kd in kinds)
    single = "" if repl is not None else " single"
    return f'<div class="row{single}{" has-error" if err else ""}">{cells}</div>{extra}', err


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


def _to_check(preds, replacements) -> str:
    "The table of every span, lowest score first, each linked to its place in its note."
    rows = sorted(((p.spans[i].score, k, i) for k, p in enumerate(preds) for i in range(len(p.spans))))
    e = html.escape
    out = []
    for score, k, i in rows[:_MAX_LISTED]:
        p, sp = preds[k], preds[k].spans[i]
        new = f"<td class=\"t\">{e(replacements[k][i])}</td>" if replacements is not None else ""
        out.append(f'<tr data-type="{e(sp.type)}" data-score="{score:.4f}"><td>{score:.3f}</td><td class="t">{e(sp.type)}</td>'
                   f'<td class="t"><a href="#s{k}-{i}">{e(p.doc.text[sp.start:sp.end])}</a></td>{new}'
                   f'<td class="t">{e(p.doc.doc_id)}</td><td>{e(getattr(sp, "origin", "model"))}</td></tr>')
    more = (f"<p>{len(rows) - _MAX_LISTED} more span(s) in the notes below.</p>" if len(rows) > _MAX_LISTED else "")
    head = "<th>replacement</th>" if replacements is not None else ""
    return ('<h2 id="to-check">Spans to check, lowest score first</h2><table class="check"><tr><th>score</th><th>type</th>'
            f"<th>text</th>{head}<th>note</th><th>origin</th></tr>{''.join(out)}</table>{more}")


def _toc(preds) -> str:
    "The table of contents: each note with its number of spans and its lowest score."
    items = []
    for k, p in enumerate(preds):
        low = f", lowest score {min(s.score for s in p.spans):.2f}" if p.spans else ""
        items.append(f'<li><a href="#doc{k}">{html.escape(p.doc.doc_id)}</a> ({len(p.spans)} span(s){low})</li>')
    return f'<h2>Notes</h2><ol class="toc">{"".join(items)}</ol>'


def _filters(colours: Dict[str, str], with_ref: bool) -> str:
    "The type checkboxes (the legend), the score slider and, with a reference, the errors-only box."
    boxes = "".join(f'<label style="background:{c}"><input type="checkbox" class="type-filter" value="{html.escape(t)}" '
                    f'checked> {html.escape(t)}</label>' for t, c in colours.items())
    errs = ('<label><input type="checkbox" id="errors-only"> show only sentences with errors</label>' if with_ref else "")
    return (f'<div class="filters"><div class="legend">{boxes}</div>'
            '<label>show spans scored at most <input type="range" id="max-score" min="0" max="1" step="0.01" value="1"> '
            f'<output id="max-score-value">1.00</output></label> {errs}</div>')


def review_html(preds, title: str = "Predicted spans", replacements: Optional[Sequence[Sequence[str]]] = None) -> str:
    """The whole review page for the DocumentPredictions `preds`, as a string; `replacements[k][i]`, what
    replaced span i of note k in its redacted copy, adds the redacted copies beside the originals."""
    types = sorted({s.type for p in preds for s in p.spans} | {r.type for p in preds for r in (p.doc.ref or [])})
    colours = type_colours(types)
    metrics = span_metrics(preds)
    docs, n_err = [], Counter()
    cols = ('<div class="cols"><div>original</div><div>redacted copy</div></div>' if replacements is not None else "")
    for k, p in enumerate(preds):
        repl = None if replacements is None else dict(enumerate(replacements[k]))
        units = [_unit_html(p.doc.text, s, e, p.spans, p.doc.ref, colours, repl, k) for s, e in p.sentences]
        err = any(e for _, e in units)
        n_err["units"] += sum(e for _, e in units)
        docs.append(f'<section class="doc{" has-error" if err else ""}" id="doc{k}"><h2>{html.escape(p.doc.doc_id)}</h2>'
                    + cols + "".join(u for u, _ in units) + "</section>")
    n_spans = sum(len(p.spans) for p in preds)
    n_rep = sum(getattr(s, "origin", "model") == "repeat" for p in preds for s in p.spans)
    head = f"<p>{len(preds)} document(s), {n_spans} predicted span(s) ({n_rep} repeat(s))."
    if metrics is not None:
        head += (f" {n_err['units']} sentence(s) with an error.</p>"
                 '<p class="key">Key: <mark class="span spurious">spurious</mark> '
                 '<mark class="span wrong-type">wrong type</mark> <mark class="span missed">missed</mark></p>'
                 + _metrics_table(metrics))
    else: head += "</p>"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>{head}"
            f"{_filters(colours, metrics is not None)}{_toc(preds)}{_to_check(preds, replacements)}"
            f'{"".join(docs)}<script>{_JS}</script></body></html>\n')


def write_review(path, preds, title: str = "Predicted spans", replacements: Optional[Sequence[Sequence[str]]] = None) -> Path:
    "Write the review page of `preds` (and their redacted copies) to `path` atomically; returns the path."
    page = review_html(preds, title, replacements)
    return atomic_write(path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
