"""Everything needed to run fastai 1.0.61 on today's stack (Python 3.11, torch 2.x, spaCy 3).

Import this module before `fastai`. Every workaround lives here, each with the reason it is
needed and the test that proves it (tests/test_compat.py):

1. `import fastai` calls `pkg_resources`, which setuptools >= 81 no longer ships; we pin
   setuptools < 81 (requirements.txt) and silence its deprecation warning here.
2. numpy >= 1.24 removed `np.int`/`np.object` and ragged `np.array`, which fastai v1 uses:
   `check_versions` fails early with a message instead of deep inside a DataBunch.
3. spaCy 3 changed `spacy.blank(lang, disable=...)`, so fastai's `SpacyTokenizer` breaks.
   We use fastai's own extension point, `Tokenizer(tok_func=...)`, with a tokenizer built on
   `blank_nlp` below (see seq2seq/tokenizer.py).
4. torch >= 2.6 loads with `weights_only=True`, but fastai pickles whole objects into some of
   its own files: `purge` (and so `load(purge=True)`), exports and saved DataBunches.
   `fastai_load` allows full unpickling only while fastai reads files that fastai wrote;
   `Learner.load`/`Learner.purge` are wrapped with it and `load_learner`/`load_data` below
   replace fastai's. Unpickling runs code: only load exports you trust.
"""
import contextlib
import functools
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

__all__ = ["check_versions", "blank_nlp", "fastai_load", "load_learner", "load_data"]


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


@contextlib.contextmanager
def fastai_load():
    "While active, `torch.load` unpickles whole objects (fastai's own file formats) as torch < 2.6 did."
    orig = torch.load

    def load(*args, **kwargs):
        kwargs.setdefault("weights_only", False)
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
