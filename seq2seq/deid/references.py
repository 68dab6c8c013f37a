"""What `--ref` scores against: the reference's types mapped (`--map`, the maps of seq2seq-convert)
and a warning when the reference's types are not the ones the model writes.

A BRAT corpus annotated `PER`/`LOC` scored against a model that writes `NAME:PATIENT` and
`LOCATION:CITY` gets F1 0 whatever the model does; that is said in one warning line, naming the
types on both sides and the way out (`--map`), instead of a silent 0.0000.
"""
from collections import Counter
from typing import Iterable, List, Optional

from ..formats.convert import load_mapping, map_spans
from ..text.tags import Span, annotate, is_open, marker_type, parse

__all__ = ["load_ref_map", "map_ref_spans", "map_ref_text", "model_types", "type_warning"]


def load_ref_map(spec) -> Optional[dict]:
    "The type map `--map` names (a JSON/YAML file or a built-in name such as `meddocan`), or None."
    return None if spec is None else load_mapping(spec)


def map_ref_spans(text: str, spans: List[Span], mapping: Optional[dict]) -> List[Span]:
    "Reference spans with their types mapped (unchanged without a map)."
    return list(spans) if mapping is None else sorted(map_spans(text, spans, mapping))


def map_ref_text(annotated: str, mapping: Optional[dict]) -> str:
    "An annotated reference with its types mapped (TagError when it is not well-formed)."
    if mapping is None or not isinstance(annotated, str): return annotated
    plain, spans = parse(annotated)
    return annotate(plain, map_ref_spans(plain, spans, mapping))


def model_types(learn) -> set:
    "The span types a model can write: those of the open markers in its target vocabulary."
    data = getattr(learn, "data", None)
    itos = getattr(getattr(getattr(data, "y", None), "vocab", None), "itos", None) or []
    return {marker_type(t) for t in itos if is_open(t)}


def type_warning(ref_types: Iterable[str], known: set) -> Optional[str]:
    """One line when reference types (one entry a span) are not among the model's types `known`:
    all of them (every reference span counts as missed) or some; None when all are known."""
    counts = Counter(ref_types)
    if not counts or not known: return None
    missing = {t: n for t, n in counts.items() if t not in known}
    if not missing: return None
    listed = ", ".join(f"{t} ({n})" for t, n in sorted(missing.items(), key=lambda x: (-x[1], x[0]))[:8])
    more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
    theirs = ", ".join(sorted(known)[:8]) + (" ..." if len(known) > 8 else "")
    if len(missing) == len(counts):
        return (f"no reference type is one the model writes ({listed}{more}; the model writes {theirs}): every reference "
                "span counts as missed; map the reference's types with --map (a JSON/YAML file or meddocan, presidio)")
    return (f"reference types the model never writes: {listed}{more} (spans of them count as missed; --map maps "
            "the reference's types)")
