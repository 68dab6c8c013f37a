"""Everything needed to run fastai 1.0.61 on today's stack (Python 3.11, torch 2.x, spaCy 3).

Import this module before `fastai`. Every workaround lives here, each with the reason it is
needed and the test that proves it (tests/test_compat.py):

1. `import fastai` calls `pkg_resources`, which setuptools >= 81 no longer ships; we pin
   setuptools < 81 (requirements.txt) and silence its deprecation warning here.
2. numpy >= 1.24 removed `np.int`/`np.object` and ragged `np.array`, which fastai v1 uses:
   `check_versions` fails early with a message instead of deep inside a DataBunch.
3. spaCy 3 changed `spacy.blank(lang, disable=...)`, so fastai's `SpacyTokenizer` breaks.
   We use fastai's own extension point, `Tokenizer(tok_func=...)`, with a tokenizer built on
   `blank_nlp` below (see seq2seq/text/tokenizer.py).
4. torch >= 2.6 loads with `weights_only=True`, but fastai pickles whole objects into some of
   its own files: `purge` (and so `load(purge=True)`), exports and saved DataBunches.
   `fastai_load` allows full unpickling only while fastai reads files that fastai wrote;
   `Learner.load`/`Learner.purge` are wrapped with it and `load_learner`/`load_data` below
   replace fastai's. Unpickling runs code: only load exports you trust.
5. A pickle names the module of each class it holds. The package moved from flat modules
   (`seq2seq/models/aligned.py`, ...) into subpackages (`seq2seq/models/aligned.py`, ...), so an
   `export.pkl` written before names homes that are gone; while `fastai_load` is active, such
   names are read through `MOVED_MODULES` / `MOVED_NAMES` (`moved`). `model.safetensors` files
   name no Python class and load unchanged.
"""
import contextlib
import functools
import pickle
import types
import warnings

import numpy as np
import torch

from .errors import UserError

warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning, module="fastai")
# fastai's SortishSampler builds a ragged object array; numpy < 1.24 still allows it, with a warning
warnings.filterwarnings("ignore", category=np.VisibleDeprecationWarning, module="fastai")
# fastai v1 builds ragged arrays of token ids (numpy < 1.24 still allows them, see 2.): the warning
# is noise that would bury a script's one-line error message
warnings.filterwarnings("ignore", message="Creating an ndarray from ragged", category=np.VisibleDeprecationWarning)

__all__ = ["check_versions", "blank_nlp", "fastai_load", "load_learner", "load_data", "MOVED_MODULES", "MOVED_NAMES",
           "moved"]


def _version_tuple(v: str) -> tuple:
    "'1.23.5' -> (1, 23)"
    return tuple(int(p) for p in v.split(".")[:2])


def check_versions() -> None:
    "Fail with an actionable message when the installed stack cannot run fastai 1.0.61."
    if _version_tuple(np.__version__) >= (1, 24):
        raise ImportError(f"numpy {np.__version__} is installed but fastai 1.0.61 needs numpy < 1.24 "
                          "(it uses np.int / np.object); run: pip install 'numpy<1.24'")
    try:
        import pkg_resources  # noqa: F401  (fastai imports it at import time)
    except ImportError as e:
        raise ImportError("fastai 1.0.61 needs pkg_resources: pip install 'setuptools<81'") from e


check_versions()

import fastai  # noqa: E402  (must come after the checks and warning filters above)
from fastai.basic_train import Learner  # noqa: E402
import fastai.basic_data  # noqa: E402
import fastai.basic_train  # noqa: E402


@functools.lru_cache(maxsize=None)
def blank_nlp(lang: str):
    "A tokenizer-only spaCy pipeline for `lang` (spaCy 3 signature; no model download)."
    import spacy
    try:
        return spacy.blank(lang)
    except (ImportError, KeyError) as e:
        raise UserError(f"spaCy has no language {lang!r}; use an ISO code such as 'en' or 'es'") from e


MOVED_MODULES = {  # module of the flat layout (before 0.2) -> its home since
    "seq2seq.aligned": "seq2seq.models.aligned", "seq2seq.augment": "seq2seq.data.augment",
    "seq2seq.best": "seq2seq.training.best", "seq2seq.callbacks": "seq2seq.training.callbacks",
    "seq2seq.cells": "seq2seq.models.cells", "seq2seq.checkpoint": "seq2seq.training.checkpoint",
    "seq2seq.cli": "seq2seq.commands.cli", "seq2seq.convert": "seq2seq.formats.convert",
    "seq2seq.crf": "seq2seq.models.crf", "seq2seq.csvio": "seq2seq.formats.csvio",
    "seq2seq.data": "seq2seq.data.pairs", "seq2seq.decode": "seq2seq.decoding.search",
    "seq2seq.device": "seq2seq.training.device", "seq2seq.distributed": "seq2seq.training.distributed",
    "seq2seq.documents": "seq2seq.formats.documents", "seq2seq.emb": "seq2seq.models.emb",
    "seq2seq.features": "seq2seq.models.features", "seq2seq.history": "seq2seq.training.history",
    "seq2seq.label_model": "seq2seq.weak.label_model", "seq2seq.learner": "seq2seq.training.learner",
    "seq2seq.lfs_builtin": "seq2seq.weak.builtin", "seq2seq.metrics": "seq2seq.text.scores",
    "seq2seq.model": "seq2seq.models.rnn", "seq2seq.modelfile": "seq2seq.models.modelfile",
    "seq2seq.mogrifier": "seq2seq.models.mogrifier", "seq2seq.plots": "seq2seq.viz.plots",
    "seq2seq.predict_csv": "seq2seq.deid.predict_csv", "seq2seq.predict_docs": "seq2seq.deid.pipeline",
    "seq2seq.redact": "seq2seq.deid.redact", "seq2seq.restore": "seq2seq.decoding.restore",
    "seq2seq.review": "seq2seq.deid.review", "seq2seq.sentences": "seq2seq.text.sentences",
    "seq2seq.synth": "seq2seq.data.synth", "seq2seq.tags": "seq2seq.text.tags",
    "seq2seq.tokenizer": "seq2seq.text.tokenizer", "seq2seq.train_config": "seq2seq.training.config",
    "seq2seq.training": "seq2seq.training.job", "seq2seq.weak": "seq2seq.weak.functions",
    "seq2seq.weak_run": "seq2seq.weak.job", "seq2seq.windows": "seq2seq.decoding.windows",
    "seq2seq.writers": "seq2seq.formats.writers",
}
MOVED_NAMES = {  # (old module, name) -> module, for what was defined there and left that module's new home
    ("seq2seq.aligned", "CandidateAccuracy"): "seq2seq.models.losses",
    ("seq2seq.aligned", "CandidateLoss"): "seq2seq.models.losses",
    ("seq2seq.checkpoint", "atomic_save"): "seq2seq.training.saving",
    ("seq2seq.checkpoint", "monitor_callbacks"): "seq2seq.training.callbacks",
    ("seq2seq.checkpoint", "plain"): "seq2seq.training.saving",
    ("seq2seq.convert", "Report"): "seq2seq.formats.readers",
    **{("seq2seq.convert", f"read_{k}"): "seq2seq.formats.readers" for k in ("brat", "conll", "docs", "i2b2", "json")},
    **{("seq2seq.decode", k): "seq2seq.decoding.config" for k in ("DecodeConfig", "decode_config")},
    **{("seq2seq.decode", k): "seq2seq.decoding.pick"
       for k in ("apply_temperature", "gnmt_penalty", "greedy_pick", "mask_logits", "top_k_pick", "top_p_pick")},
    **{("seq2seq.decode", k): "seq2seq.models.faithful"
       for k in ("FaithfulConstraint", "FaithfulState", "check_faithful", "faithful_moves", "faithful_states")},
    **{("seq2seq.documents", k): "seq2seq.deid.documents"
       for k in ("DocumentPrediction", "predict_documents", "sentence_offsets")},
    ("seq2seq.metrics", "DecodedMetric"): "seq2seq.training.metrics",
    ("seq2seq.metrics", "ValidDecodes"): "seq2seq.training.metrics",
    **{("seq2seq.metrics", k): "seq2seq.models.losses" for k in ("TokenAccuracy", "seq2seq_acc", "seq2seq_loss")},
    ("seq2seq.model", "ModelConfig"): "seq2seq.models.config",
    ("seq2seq.model", "build_model"): "seq2seq.models.registry",
    ("seq2seq.restore", "ScoredSpan"): "seq2seq.text.tags",
    ("seq2seq.train_config", "AugmentConfig"): "seq2seq.data.augment",
}


def moved(module: str, name: str) -> tuple:
    "The `(module, name)` a pickle written before 0.2 means by `(module, name)`; others unchanged."
    return MOVED_NAMES.get((module, name)) or MOVED_MODULES.get(module, module), name


class _MovedUnpickler(pickle.Unpickler):
    "An Unpickler that finds classes of the old flat layout in their new homes (`moved`)."

    def find_class(self, module, name):
        return super().find_class(*moved(module, name))


_moved_pickle = types.ModuleType("seq2seq_moved_pickle", "pickle, finding old class paths (compat.moved)")
_moved_pickle.__dict__.update({k: getattr(pickle, k) for k in ("dump", "dumps", "Pickler", "HIGHEST_PROTOCOL",
                                                               "DEFAULT_PROTOCOL", "UnpicklingError")})
_moved_pickle.Unpickler = _MovedUnpickler
_moved_pickle.load = lambda f, **kw: _MovedUnpickler(f, **kw).load()


@contextlib.contextmanager
def fastai_load():
    """While active, `torch.load` unpickles whole objects (fastai's own file formats) as torch < 2.6 did,
    reading class paths of the old flat layout as their new homes (5. above)."""
    orig = torch.load

    def load(*args, **kwargs):
        kwargs.setdefault("weights_only", False)
        if not kwargs["weights_only"]: kwargs.setdefault("pickle_module", _moved_pickle)
        return orig(*args, **kwargs)

    torch.load = load
    try:
        yield
    finally:
        torch.load = orig


def _with_fastai_load(meth):
    "Wrap a fastai method that reads a file fastai wrote itself."
    @functools.wraps(meth)
    def wrapper(*args, **kwargs):
        with fastai_load():
            return meth(*args, **kwargs)
    wrapper._seq2seq_compat = True
    return wrapper


def _patch_learner() -> None:
    "Make `Learner.load` (used by lr_find and SaveModelCallback) and `Learner.purge` work on torch >= 2.6."
    for name in ("load", "purge"):
        meth = getattr(Learner, name)
        if not getattr(meth, "_seq2seq_compat", False):
            setattr(Learner, name, _with_fastai_load(meth))


_patch_learner()


def load_learner(path, file: str = "export.pkl", **kwargs) -> Learner:
    "fastai's `load_learner` for torch >= 2.6 (the export is a pickle of the whole Learner state)."
    with fastai_load():
        return fastai.basic_train.load_learner(path, file, **kwargs)


def load_data(path, file: str = "data_save.pkl", **kwargs):
    "fastai's `load_data` for torch >= 2.6."
    with fastai_load():
        return fastai.basic_data.load_data(path, file, **kwargs)
