"""Repeats inside a note: a string the model marked as PHI somewhere in a note is PHI wherever else it
stands in that note. A name redacted in the first line and missed in the tenth would otherwise survive
in the redacted copy; a whole-word search for every predicted string closes that leak.

Only strings that identify are repeated: at least `min_chars` characters, not a number shorter than
`min_digits` digits (ages, doses), and not a single lower-case word (a profession or a relative: too
often an ordinary word elsewhere). A repeat never overlaps a predicted span, takes the type of the
predicted occurrences of its string (the most frequent, then the best scored) and their best score, and
is marked `origin="repeat"` so outputs can tell the two apart.
"""
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import List, Sequence

from ..config import check, int_ge, option
from ..text.tags import ScoredSpan

__all__ = ["RepeatConfig", "REPEAT_MODES", "repeat_spans", "with_repeats", "repeatable"]

REPEAT_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class RepeatConfig:
    "Marking the repeats of predicted strings within each note (document input)."
    repeats: str = option("auto", "mark every other whole-word occurrence in a note of a string predicted as PHI "
                                  "there: auto (when redacting), on or off", choices=REPEAT_MODES)
    min_chars: int = option(3, "shortest string whose repeats are marked", flag="--repeat-min-chars")
    min_digits: int = option(4, "shortest all-digit string whose repeats are marked", flag="--repeat-min-digits")

    def __post_init__(self):
        check([(self.repeats in REPEAT_MODES, f"{{}} must be one of {', '.join(REPEAT_MODES)} (got {self.repeats!r})",
                "repeats"),
               (int_ge(self.min_chars, 1), f"{{}} must be >= 1 (got {self.min_chars!r})", "min_chars"),
               (int_ge(self.min_digits, 1), f"{{}} must be >= 1 (got {self.min_digits!r})", "min_digits")])

    def active(self, redacting: bool) -> bool:
        "Whether repeats are marked in a run that redacts (`redacting`) or not."
        return self.repeats == "on" or (self.repeats == "auto" and redacting)


def repeatable(s: str, cfg: RepeatConfig = RepeatConfig()) -> bool:
    "True when the repeats of the predicted string `s` are marked (see the module docstring)."
    s = s.strip()
    if len(s) < cfg.min_chars: return False
    if s.isdigit(): return len(s) >= cfg.min_digits
    return not (s.isalpha() and s.islower())


def repeat_spans(text: str, spans: Sequence[ScoredSpan], cfg: RepeatConfig = RepeatConfig()) -> List[ScoredSpan]:
    "The repeats in `text` of the strings of `spans` (predicted spans of that text), by start."
    by_string = defaultdict(list)
    for sp in spans:
        s = text[sp.start:sp.end]
        if s == s.strip() and repeatable(s, cfg): by_string[s].append(sp)
    taken = sorted((sp.start, sp.end) for sp in spans)
    res = []
    for s in sorted(by_string, key=len, reverse=True):  # the longest first: "Ana Ruiz" before "Ana"
        group = by_string[s]
        types = defaultdict(list)
        for sp in group: types[sp.type].append(sp.score)
        typ = max(types, key=lambda t: (len(types[t]), max(types[t])))
        score = max(sp.score for sp in group)
        for m in re.finditer(rf"(?<!\w){re.escape(s)}(?!\w)", text):
            if any(a < m.end() and m.start() < b for a, b in taken): continue
            res.append(ScoredSpan(m.start(), m.end(), typ, score, "repeat"))
            taken.append((m.start(), m.end()))
    return sorted(res)


def with_repeats(text: str, spans: Sequence[ScoredSpan], cfg: RepeatConfig = RepeatConfig()) -> List[ScoredSpan]:
    "`spans` and their repeats in `text`, by start."
    return sorted(list(spans) + repeat_spans(text, spans, cfg))
