"""Example labelling functions for scripts/weak_label.py --lf data/example_lfs.py.

Each function takes one plain text and yields (start, end, TYPE) with character offsets into
that text, or nothing to abstain. `@labelling_function` names it (default: the Python name) and
puts it in a family for the report. Spans must lie inside the text and must not overlap each
other; a function that raises on a row is named with the row in the log and skipped there.
With `batched=True` the function receives a list of texts and returns one list of spans each.
"""
import re

from seq2seq.weak import labelling_function

_BED = re.compile(r"\b(?:[Hh]abitación|[Cc]ama|[Bb]ed|[Rr]oom)\s+(\d{2,4}[A-Z]?)\b")


@labelling_function(family="user")
def room_number(text):
    "A room or bed number after its cue word: 'habitación 214', 'bed 12B'."
    for m in _BED.finditer(text):
        yield m.start(1), m.end(1), "LOCATION:ROOM"


@labelling_function(name="relative", family="user")
def relatives(text):
    "Family members mentioned as people (NAME:OTHER in MEDDOCAN's mapping)."
    for m in re.finditer(r"\b(?:su|la|el) (madre|padre|hermana|hermano|hija|hijo)\b", text):
        yield m.start(1), m.end(1), "NAME:OTHER"
