"""Labelling functions: the decorator, loading a user's file, applying them, and their report.

A labelling function (LF) looks at one plain text and returns the spans it believes are PHI,
each `(start, end, type)` with character offsets into that text (or nothing: it abstains).
Decorate it with `labelling_function` to give it a name and a family:

    from seq2seq.weak import labelling_function

    @labelling_function(family="context")
    def nhc(text):
        for m in re.finditer(r"NHC:\\s*(\\d+)", text): yield m.start(1), m.end(1), "ID:MEDICALRECORD"

`apply_lfs` runs every function on every text and checks what they return: a span outside the
text, empty, with a bad type or overlapping another span of the same function is refused with
the function's name and the row (`LFError`). A function that raises on a row is named with the
row in the log, its output for that row is dropped and counted, and the run goes on; so does one
that calls `sys.exit()` or raises `KeyboardInterrupt` itself (a real Ctrl-C still stops the run).
Aggregating the votes into silver spans is `seq2seq.weak.label_model`'s job.
"""
import bisect
import contextlib
import heapq
import importlib.util
import signal
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Sequence

import pandas as pd

from ..errors import UserError
from ..text.tags import Span, TagError, open_marker, parse

__all__ = ["LabellingFunction", "labelling_function", "LFError", "load_lf_file", "Votes", "apply_lfs",
           "lf_report", "family_spans", "family_scores", "span_prf", "check_spans", "gold_spans", "touching"]


class LFError(UserError):
    "A labelling function file that cannot be loaded, or a function that returns invalid spans."


@dataclass(frozen=True)
class LabellingFunction:
    """A named labelling function. `fn(text) -> iterable of (start, end, type)`; with `batched`,
    `fn(texts) -> one such iterable per text` (e.g. a model that decodes a batch at once)."""
    name: str
    fn: Callable
    family: str = "user"
    batched: bool = False

    def __call__(self, text): return self.fn(text)


def labelling_function(name: Optional[str] = None, family: str = "user", batched: bool = False):
    """Decorator that turns `fn(text) -> spans` into a `LabellingFunction` called `name`
    (default: the function's own name). `family` groups functions in reports (regex, context,
    gazetteer, model, user, ...)."""
    def wrap(fn):
        return LabellingFunction(name or fn.__name__, fn, family, batched)
    return wrap


def load_lf_file(path) -> List[LabellingFunction]:
    """Import a Python file and return the `LabellingFunction`s it defines at module level
    (in definition order). LFError names the file when it is missing, fails to import or
    defines none."""
    path = Path(path)
    if not path.is_file(): raise LFError(f"--lf {path}: no such file")
    spec = importlib.util.spec_from_file_location(f"_user_lfs_{abs(hash(str(path.resolve())))}", path)
    mod = importlib.util.module_from_spec(spec)
    try:
        with _sigint_watch() as seen: spec.loader.exec_module(mod)
    except BaseException as e:  # the user's code: any error is a bad file, reported in one line (sys.exit too)
        if not _lf_failure(e, seen): raise
        raise LFError(f"--lf {path}: failed to import: {type(e).__name__}: {e}") from e
    lfs = [v for v in vars(mod).values() if isinstance(v, LabellingFunction)]
    if not lfs: raise LFError(f"--lf {path}: defines no function decorated with @labelling_function")
    return lfs


def check_spans(lf_name: str, row: int, text: str, spans) -> List[Span]:
    "`spans` as sorted `Span`s, or LFError naming the function and the row when one is invalid."
    res = []
    for sp in spans or ():
        try:
            s, e, t = sp
            open_marker(t)  # checks the type
        except (TypeError, ValueError) as err:
            raise LFError(f"labelling function {lf_name!r}, row {row}: bad span {sp!r} "
                          f"(expected (start, end, type)): {err}") from None
        if not (isinstance(s, int) and isinstance(e, int) and 0 <= s < e <= len(text)):
            raise LFError(f"labelling function {lf_name!r}, row {row}: span {sp!r} is empty or outside "
                          f"the text (length {len(text)})")
        res.append(Span(s, e, t))
    res.sort()
    for a, b in zip(res, res[1:]):
        if b.start < a.end:
            raise LFError(f"labelling function {lf_name!r}, row {row}: its spans {tuple(a)} and {tuple(b)} overlap")
    return res


@dataclass
class Votes:
    """What every function said: `spans[name][i]` are function `name`'s spans on text `i`
    (empty when it abstained or failed there); `errors[name]` counts the rows where it raised."""
    texts: List[str]
    spans: dict = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)
    families: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)  # name -> its first failure, "Type: message"

    @property
    def names(self) -> List[str]: return list(self.spans)


@contextlib.contextmanager
def _sigint_watch():
    """Record a real Ctrl-C (SIGINT) while the user's code runs, so that a `KeyboardInterrupt` the code
    raises itself can be told from the user stopping the run. Yields a dict; `seen["sigint"]` is set
    when the signal came. Off the main thread (no handler can be set there) every interrupt is real."""
    seen = {"sigint": threading.current_thread() is not threading.main_thread()}
    if seen["sigint"]:
        yield seen
        return
    old = signal.getsignal(signal.SIGINT)

    def on_sigint(signum, frame):
        seen["sigint"] = True
        if callable(old): old(signum, frame)          # Python's handler raises KeyboardInterrupt
        elif old != signal.SIG_IGN: raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try: yield seen
    finally: signal.signal(signal.SIGINT, old)


def _lf_failure(e: BaseException, seen: dict) -> bool:
    """True when `e`, raised inside a labelling function, is that function's failure: any Exception,
    and a SystemExit or KeyboardInterrupt it raised itself (`sys.exit(0)`, `raise KeyboardInterrupt`);
    False for a real Ctrl-C or SIGTERM (cli.Terminated), which stop the run as anywhere else."""
    if isinstance(e, Exception) or type(e) is SystemExit: return True
    return type(e) is KeyboardInterrupt and not seen["sigint"]


_SHOWN = 3  # failures logged per function, one line each; the rest are counted (and summed up at the end)


def _failed(lf: LabellingFunction, rows: str, e: BaseException, votes: Votes, n: int, log):
    "Count `n` failed rows of `lf` and log the first few."
    votes.errors[lf.name] += n
    votes.failures.setdefault(lf.name, f"{type(e).__name__}: {e}")
    shown = votes.errors[lf.name] - n
    if shown < _SHOWN:
        more = " (further failures of this function are counted, not shown)" if shown + n >= _SHOWN else ""
        log(f"labelling function {lf.name!r}, {rows}: {type(e).__name__}: {e} (skipped){more}")


def _run_one(lf: LabellingFunction, texts: Sequence[str], votes: Votes, log, offset: int = 0) -> List[List[Span]]:
    """One function over `texts` (row numbers start at `offset` + 1); failures (an exception, or a
    `sys.exit` / `KeyboardInterrupt` of the function's own) are logged and counted."""
    if lf.batched:
        try:
            with _sigint_watch() as seen:
                outs = list(lf.fn(list(texts)))
            if len(outs) != len(texts): raise ValueError(f"returned {len(outs)} results for {len(texts)} texts")
        except BaseException as e:  # the user's code: name it, count the rows, go on
            if not _lf_failure(e, seen): raise
            _failed(lf, f"rows {offset + 1}-{offset + len(texts)}", e, votes, len(texts), log)
            return [[] for _ in texts]
        return [check_spans(lf.name, offset + i + 1, t, o) if t else [] for i, (t, o) in enumerate(zip(texts, outs))]
    res = []
    with _sigint_watch() as seen:
        for i, t in enumerate(texts):
            if not t:
                res.append([])
                continue
            try:
                out = list(lf.fn(t) or ())
            except BaseException as e:  # the user's code: name it with the row, count it, go on
                if not _lf_failure(e, seen): raise
                _failed(lf, f"row {offset + i + 1}", e, votes, 1, log)
                out = []
            res.append(check_spans(lf.name, offset + i + 1, t, out))
    return res


def apply_lfs(texts: Iterable[str], lfs: Sequence[LabellingFunction], log=print, progress: bool = False,
              chunk: int = 256) -> Votes:
    """Run every function in `lfs` on every text (rows numbered from 1 in messages).

    Empty texts get no spans. Returns `Votes`. Raises LFError on duplicate names or invalid spans.
    """
    texts = ["" if not isinstance(t, str) else t for t in texts]
    names = [lf.name for lf in lfs]
    dup = sorted(n for n, c in Counter(names).items() if c > 1)
    if dup: raise LFError(f"labelling function names must be unique; repeated: {', '.join(dup)}")
    votes = Votes(texts, {n: [] for n in names}, Counter(), {lf.name: lf.family for lf in lfs})
    starts = range(0, len(texts), chunk)
    if progress:
        from fastprogress.fastprogress import progress_bar
        starts = progress_bar(starts)
    for s in starts:
        for lf in lfs: votes.spans[lf.name] += _run_one(lf, texts[s:s + chunk], votes, log, s)
    return votes


def gold_spans(refs: Sequence[str]) -> List[set]:
    "Gold spans per row from annotated references (TagError names the row)."
    res = []
    for i, r in enumerate(refs, 1):
        try: res.append(set(parse(r)[1]) if isinstance(r, str) else set())
        except TagError as e: raise TagError(f"--ref row {i}: {e}") from e
    return res


def span_prf(pred: Sequence[Iterable[Span]], gold: Sequence[set]) -> dict:
    "Strict micro precision/recall/F1 (same offsets and type) of per-row predicted spans against gold."
    tp = fp = fn = 0
    for p, g in zip(pred, gold):
        p = set(p)
        tp, fp, fn = tp + len(p & g), fp + len(p - g), fn + len(g - p)
    prec, rec = tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0
    return {"precision": prec, "recall": rec, "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
            "tp": tp, "fp": fp, "fn": fn}


def _overlaps(a: Span, others: Iterable[Span]) -> List[Span]:
    "The spans of `others` that share at least one character with `a`."
    return [b for b in others if b.start < a.end and a.start < b.end]


def touching(row: dict) -> dict:
    """For one text's votes `{function name: spans}`: `(name, span)` -> the `(other name, span)` of
    every other function's span sharing a character with it. One sweep over the spans sorted by
    start (O(n log n + pairs)), so a long text with many spans costs time in its length, not its square."""
    items = sorted(((sp.start, sp.end, name, sp) for name, spans in row.items() for sp in spans), key=lambda x: x[:2])
    res, active = {}, []   # active: a heap of (end, k) of the spans still open at the current start
    for k, (s, e, name, sp) in enumerate(items):
        while active and active[0][0] <= s: heapq.heappop(active)
        for _, j in active:
            other = items[j]
            if other[2] == name: continue
            res.setdefault((name, sp), []).append((other[2], other[3]))
            res.setdefault((other[2], other[3]), []).append((name, sp))
        if e > s: heapq.heappush(active, (e, k))
    return res


def lf_report(votes: Votes, refs: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """A row per function: its family; `spans` it emitted; `coverage` (share of non-empty rows
    where it fired); `overlaps` (share of its spans that another function's span touches);
    `conflicts` (share of its spans touched by another function's span of a different type or
    offsets); `errors` (rows where it raised). With `refs` (annotated gold texts, aligned with
    the votes' texts): strict `precision`, `recall` and `f1` of its spans."""
    n_rows = max(sum(bool(t) for t in votes.texts), 1)
    gold = gold_spans(refs) if refs is not None else None
    rows, ov, cf = [], Counter(), Counter()
    for i in range(len(votes.texts)):
        for (name, sp), touch in touching({n: votes.spans[n][i] for n in votes.names}).items():
            ov[name] += 1
            cf[name] += any(t != sp for _, t in touch)
    for name in votes.names:
        mine = votes.spans[name]
        n = sum(len(s) for s in mine)
        ov_n, cf_n = ov[name], cf[name]
        row = {"function": name, "family": votes.families.get(name, "user"), "spans": n,
               "coverage": sum(bool(s) for s in mine) / n_rows, "overlaps": ov_n / n if n else 0.0,
               "conflicts": cf_n / n if n else 0.0, "errors": votes.errors[name]}
        if gold is not None:
            row.update({k: v for k, v in span_prf(mine, gold).items() if k in ("precision", "recall", "f1")})
        rows.append(row)
    return pd.DataFrame(rows).set_index("function")


def family_spans(votes: Votes, family: str) -> List[List[Span]]:
    """The union of one family's spans per row, overlaps resolved by keeping the longest (then
    earliest, then the first type in alphabetical order: the same result in every process)."""
    names = [n for n in votes.names if votes.families.get(n) == family]
    res = []
    for i in range(len(votes.texts)):
        cands = sorted({sp for n in names for sp in votes.spans[n][i]}, key=lambda s: (s.start - s.end, s.start, s.type))
        kept = []   # sorted, never overlapping: a new span can only touch its two neighbours there
        for sp in cands:
            k = bisect.bisect_left(kept, sp)
            if not _overlaps(sp, kept[max(k - 1, 0):k + 1]): kept.insert(k, sp)
        res.append(kept)
    return res


def family_scores(votes: Votes, refs: Sequence[str]) -> pd.DataFrame:
    "Strict micro P/R/F1 of each family's combined spans (see `family_spans`) against annotated `refs`."
    gold = gold_spans(refs)
    fams = list(dict.fromkeys(votes.families[n] for n in votes.names))
    return pd.DataFrame([{"family": f, **span_prf(family_spans(votes, f), gold)} for f in fams]).set_index("family")
