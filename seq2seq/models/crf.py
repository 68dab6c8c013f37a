"""A CRF tagger baseline (python-crfsuite) on the seq2seq model's own sentences and tokens.

Tokens are `tokenizer.pieces` of the plain text, words only (control tokens skipped), so the
CRF sees exactly the source tokens the seq2seq model sees. Labels are BIO tags derived from
the annotated text's spans (`tags.parse`): a word belongs to a span when their characters
overlap, the first such word gets `B-TYPE`. Predicted BIO sequences are repaired (an `I-`
that does not continue a span of its type starts one) and written back into the *source*
string with `tags.annotate` at the words' character offsets, so `strip_tags(output) == input`.

The model is crfsuite's own binary file plus a JSON file of settings; nothing is pickled.
"""
import json
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

import pycrfsuite

from ..config import check, int_ge, option
from ..errors import ModelFileError, UserError
from ..text.tags import Span, annotate, parse
from ..text.tokenizer import Piece, is_control, pieces

__all__ = ["CrfConfig", "CrfTagger", "CrfFileError", "words", "bio_labels", "bio_spans", "word_features",
           "sentence_features", "sentence_examples", "train_crf", "load_crf"]

MODEL_FILE, META_FILE = "crf.crfsuite", "crf.json"
OUT = "O"


class CrfFileError(ModelFileError):
    "A CRF model folder that is missing or unreadable."


@dataclass
class CrfConfig:
    "Training settings of the CRF (L-BFGS with L1 `c1` and L2 `c2` penalties); validated on creation."
    c1: float = option(0.1, "CRF: L1 penalty (sparsity of the feature weights)")
    c2: float = option(0.01, "CRF: L2 penalty")
    max_iterations: int = option(150, "CRF: L-BFGS iterations")
    affix: int = option(3, "CRF: prefixes and suffixes of 1..N characters are features")
    window: int = option(2, "CRF: neighbours on each side whose features a word also gets")
    all_transitions: bool = option(True, "CRF: learn weights for label transitions never seen in training")

    def __post_init__(self):
        check([(self.c1 >= 0, f"{{}} must be >= 0 (got {self.c1!r})", "c1"),
               (self.c2 >= 0, f"{{}} must be >= 0 (got {self.c2!r})", "c2"),
               (int_ge(self.max_iterations, 1), f"{{}} must be >= 1 (got {self.max_iterations!r})", "max_iterations"),
               (int_ge(self.affix, 0), f"{{}} must be >= 0 (got {self.affix!r})", "affix"),
               (int_ge(self.window, 0), f"{{}} must be >= 0 (got {self.window!r})", "window")])


def words(text: str, lang: str) -> List[Piece]:
    "The word tokens of plain `text` (the seq2seq source tokens minus control tokens), with offsets."
    return [p for p in pieces(text, lang) if not is_control(p.text)]


def bio_labels(ws: Sequence[Piece], spans: Iterable[Span]) -> List[str]:
    "BIO label of each word: `B-T` on the first word overlapping a span of type T, `I-T` on its others."
    labels, spans, j, prev = [OUT] * len(ws), sorted(spans), 0, None
    for i, w in enumerate(ws):
        while j < len(spans) and spans[j].end <= w.start: j += 1
        if j < len(spans) and spans[j].start < w.end:
            labels[i] = ("I-" if prev == j else "B-") + spans[j].type
            prev = j
        else: prev = None
    return labels


def bio_spans(ws: Sequence[Piece], labels: Sequence[str]) -> List[Span]:
    """Character spans of a BIO sequence over words `ws`, repaired: an `I-T` that does not follow
    `B-T`/`I-T` opens a span of type T (crfsuite can predict one), an `O` or a new type closes it."""
    res, start, typ, end = [], None, None, None
    for w, lab in zip(ws, labels):
        kind, t = (lab[:1], lab[2:]) if lab != OUT else (OUT, None)
        if kind == "I" and t == typ:
            end = w.end
            continue
        if typ is not None: res.append(Span(start, end, typ))
        start, typ, end = (w.start, t, w.end) if kind in ("B", "I") else (None, None, None)
    if typ is not None: res.append(Span(start, end, typ))
    return res


def _shape(s: str) -> str:
    "Word shape with runs collapsed: 'Juan' -> 'Xx', '28-03' -> 'd-d', 'NHC:123' -> 'X:d'."
    out = []
    for c in s:
        k = "X" if c.isupper() else "x" if c.isalpha() else "d" if c.isdigit() else c
        if not out or out[-1] != k: out.append(k)
    return "".join(out)


def word_features(w: str, affix: int = 3) -> List[str]:
    "Features of one word alone: lower case, shape, affixes, case and digit flags, length class."
    low = w.lower()
    fs = [f"w={low}", f"sh={_shape(w)}", f"len={min(len(w), 8)}"]
    fs += [f"p{k}={low[:k]}" for k in range(1, affix + 1) if len(low) >= k]
    fs += [f"s{k}={low[-k:]}" for k in range(1, affix + 1) if len(low) >= k]
    flags = {"title": w.istitle(), "upper": w.isupper(), "digit": w.isdigit(),
             "hasdigit": any(c.isdigit() for c in w), "alpha": w.isalpha(), "punct": not any(c.isalnum() for c in w)}
    return fs + [k for k, v in flags.items() if v]


def _context_features(w: str) -> List[str]:
    "The features a word lends its neighbours: lower case, shape and case/digit flags."
    fs = [f"w={w.lower()}", f"sh={_shape(w)}"]
    return fs + [k for k, v in (("title", w.istitle()), ("upper", w.isupper()), ("digit", w.isdigit())) if v]


def sentence_features(ws: Sequence[str], cfg: CrfConfig) -> List[List[str]]:
    "crfsuite item features of each word: its own, plus its neighbours' (+-`cfg.window`) context features."
    ctx = [_context_features(w) for w in ws]
    res = []
    for i, w in enumerate(ws):
        fs = ["bias"] + word_features(w, cfg.affix)
        for d in range(-cfg.window, cfg.window + 1):
            j = i + d
            if d == 0: continue
            fs += [f"{d}:{f}" for f in ctx[j]] if 0 <= j < len(ws) else [f"{d}:pad"]
        res.append(fs)
    return res


class CrfTagger:
    """A trained CRF over word tokens; `annotate(texts)` returns the annotated texts.

    Args:
        model: the bytes of crfsuite's model file. lang: spaCy language of the tokenizer. cfg: its `CrfConfig`.
    """

    def __init__(self, model: bytes, lang: str, cfg: Optional[CrfConfig] = None):
        self.model, self.lang, self.cfg = model, lang, cfg or CrfConfig()
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open_inmemory(model)

    @property
    def labels(self) -> List[str]:
        "The BIO labels the model knows."
        return list(self._tagger.labels())

    def tag(self, ws: Sequence[str]) -> List[str]:
        "BIO labels of a list of word strings (as predicted: may hold an `I-` without `B-`)."
        return list(self._tagger.tag(sentence_features(ws, self.cfg))) if ws else []

    def annotate_one(self, text: str) -> str:
        "`text` with the predicted spans written in as inline markers; the text itself is unchanged."
        ws = words(text, self.lang)
        return annotate(text, bio_spans(ws, self.tag([w.text for w in ws])))

    def annotate(self, texts: Iterable[str]) -> List[str]:
        "Annotated versions of `texts` (see `annotate_one`)."
        return [self.annotate_one(t) for t in texts]

    def save(self, folder) -> Path:
        "Write the crfsuite model and a JSON of settings into `folder`; returns the folder."
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        _atomic(folder / MODEL_FILE, self.model)
        meta = {"kind": "crf", "lang": self.lang, "config": asdict(self.cfg), "labels": self.labels}
        _atomic(folder / META_FILE, json.dumps(meta, indent=2).encode("utf-8"))
        return folder


def _atomic(path: Path, data: bytes):
    "Write `data` to `path` through a temporary file in the same folder."
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "wb") as f: f.write(data)
    os.replace(tmp, path)


def load_crf(folder) -> CrfTagger:
    "Load a tagger saved by `CrfTagger.save`; raises `CrfFileError` naming the folder when it is not one."
    folder = Path(folder)
    meta_path, model_path = folder / META_FILE, folder / MODEL_FILE
    if not (meta_path.is_file() and model_path.is_file()):
        raise CrfFileError(f"{folder}: not a CRF model folder (needs {META_FILE} and {MODEL_FILE})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        names = {f.name for f in fields(CrfConfig)}
        cfg = CrfConfig(**{k: v for k, v in meta["config"].items() if k in names})
        return CrfTagger(model_path.read_bytes(), meta["lang"], cfg)
    except (ValueError, KeyError, TypeError, OSError) as e:
        raise CrfFileError(f"{folder}: unreadable CRF model ({e})") from e


def sentence_examples(src_texts: Sequence[str], tgt_texts: Sequence[str],
                      lang: str) -> Iterable[Tuple[List[str], List[str]]]:
    "(word strings, BIO labels) of each pair; the words come from the source text, the spans from the target."
    for s, t in zip(src_texts, tgt_texts):
        plain, sps = parse(t)
        if plain != s: raise UserError(f"target text without tags differs from its source: {s[:60]!r}")
        ws = words(s, lang)
        yield [w.text for w in ws], bio_labels(ws, sps)


def train_crf(pairs_df, src: str = "orig_text", tgt: str = "annotated_text", lang: str = "en",
              cfg: Optional[CrfConfig] = None, progress=None) -> CrfTagger:
    """Train a CRF on the pairs of `pairs_df` (columns `src`, `tgt`) and return the tagger.

    Args:
        pairs_df: validated pairs (see `data.read_pairs`); the plain target must equal the source.
        lang: spaCy language of the tokenizer. cfg: `CrfConfig` (defaults: c1 0.1, c2 0.01, 150 iterations).
        progress: optional callable wrapping the examples iterator (e.g. a progress bar).
    """
    cfg = cfg or CrfConfig()
    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    trainer.set_params({"c1": cfg.c1, "c2": cfg.c2, "max_iterations": cfg.max_iterations,
                        "feature.possible_transitions": cfg.all_transitions})
    examples = sentence_examples(pairs_df[src].tolist(), pairs_df[tgt].tolist(), lang)
    for ws, labels in (progress(examples) if progress else examples):
        if ws: trainer.append(sentence_features(ws, cfg), labels)
    with tempfile.TemporaryDirectory(prefix="crf-") as tmp:  # crfsuite only writes to a file
        trainer.train(str(Path(tmp) / MODEL_FILE))
        model = (Path(tmp) / MODEL_FILE).read_bytes()
    return CrfTagger(model, lang, cfg)
