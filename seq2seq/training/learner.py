"""`seq2seq_learner(data, ...)`: a fresh model of any registered arch (models/registry.py) in a fastai
Learner; exporting a trained one (model.safetensors and export.pkl) and loading it back."""
import contextlib
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

from .. import __version__
from ..compat import load_learner
import fastai.text.data as ftd
from fastai.basic_train import Learner
from fastai.text.transform import Vocab
from fastai.torch_core import defaults

from ..decoding.restore import restore_texts
from ..errors import ModelFileError
from ..models.config import ModelConfig
from ..models.losses import TokenAccuracy, seq2seq_loss
from ..models.modelfile import MODEL_FILE, is_pickle_file, load_safe, save_safe, warn_trust
from ..models.registry import PrepareOptions, TrainingText, arch_of
from ..text.tags import is_marker
from ..utils import atomic_write
from .callbacks import TeacherForcing
from .config import TeacherForcingConfig
from .metrics import DecodedMetric, ValidDecodes

__all__ = ["Seq2SeqLearner", "seq2seq_learner", "export_learner", "export_safe", "load_seq2seq", "FORMAT_VERSION"]

FORMAT_VERSION = 1  # bump when an export written by an older version can no longer be read


class Seq2SeqLearner(Learner):
    "A fastai `Learner` for sentence pairs that can decode texts (see seq2seq/decoding/restore.py)."

    @property
    def meta(self) -> dict: return self.model.meta

    def restore(self, texts, cfg=None, **options):
        """Annotated versions of `texts` (or plain ones, for a model trained to strip tags).

        `cfg` is a `decode.DecodeConfig`, or give its fields as keyword arguments (e.g.
        `decoder="beam", beam_size=5`); see `restore.restore_texts`.
        """
        return restore_texts(self, texts, cfg, **options)

    def predict(self, text: str, cfg=None, **options) -> str:
        "The restored version of one text (options as for `restore`)."
        return self.restore([text], cfg, **options)[0]


def seq2seq_learner(data, cfg: ModelConfig = None, *, vectors: Optional[str] = None, cache_dir=None,
                    lang: str = "en", src: str = "orig_text", tgt: str = "annotated_text",
                    teacher_forcing: Optional[TeacherForcingConfig] = None, decode_limit: int = 1000, emb_epochs: int = 10,
                    seed: int = 42, verbose: bool = True, **learn_kwargs) -> Seq2SeqLearner:
    """A `Seq2SeqLearner` with a fastText-initialised tied-weight encoder-decoder.

    Args:
        data: a `Seq2SeqDataBunch` (see `seq2seq_data`).
        cfg: model sizes and options (`ModelConfig`).
        vectors: a pretrained fastText `.bin`/`.vec` file; None trains fastText on the training text.
        cache_dir: where embeddings are cached (a rerun skips the fastText work).
        lang, src, tgt: recorded with the model so that prediction tokenizes and decodes alike.
        teacher_forcing: the schedule (`TeacherForcingConfig`; default: full forcing throughout).
        decode_limit: validation sentences decoded greedily per epoch for BLEU/chrF/span F1.
    """
    cfg = cfg or ModelConfig()
    restore = any(is_marker(t) for t in data.train_ds.y.vocab.itos)
    x, y = data.train_ds.x, data.train_ds.y
    arch = arch_of(cfg)
    model, cfg = arch.prepare(cfg, TrainingText(x.vocab.itos, y.vocab.itos, x.items, y.items),
                              PrepareOptions(vectors=vectors, cache_dir=cache_dir, emb_epochs=emb_epochs, seed=seed,
                                             restore=restore, verbose=verbose))
    model.meta = dict(format_version=FORMAT_VERSION, version=__version__, lang=lang, src=src, tgt=tgt,
                      task="restore" if restore else "strip", config=cfg.to_dict())
    loss, acc = arch.loss(model)
    learn = Seq2SeqLearner(data, model, loss_func=loss,
                           callback_fns=[partial(TeacherForcing, cfg=teacher_forcing)], **learn_kwargs)
    decodes = ValidDecodes(learn, limit=decode_limit)
    learn.metrics = [acc] + [
        DecodedMetric(decodes, name, owner=(i == 0)) for i, name in enumerate(("bleu", "chrf", "span_f1"))]
    return learn


def export_learner(learn: Learner, path) -> Path:
    """Write `learn` to `path` (e.g. DIR/export.pkl) atomically: a crash leaves the old file intact.

    Metrics that decode during training hold the Learner, so only token accuracy is exported.
    """
    path = Path(path)
    keep = learn.metrics
    learn.metrics = [m for m in keep if isinstance(m, TokenAccuracy)]
    try:
        atomic_write(path, learn.export)
    finally:
        learn.metrics = keep
    return path


def export_safe(learn: Learner, path) -> Path:
    "Write `learn`'s model as a safe model file (see seq2seq/models/modelfile.py), e.g. DIR/model.safetensors."
    return save_safe(learn.model, learn.data.train_ds.x.vocab.itos, learn.data.train_ds.y.vocab.itos, path)


@contextlib.contextmanager
def _no_progress():
    "Silence fastai's text-processing progress bars."
    orig = ftd.progress_bar
    ftd.progress_bar = lambda it, **kwargs: it
    try:
        yield
    finally:
        ftd.progress_bar = orig


def load_seq2seq(path, device=None, trust: bool = False) -> Seq2SeqLearner:
    """Load a trained model: a safe `model.safetensors` (see seq2seq/models/modelfile.py), a folder holding
    one, or, with `trust=True` only, a pickle-based `export.pkl` written by `export_learner`.

    Raises `ModelFileError` for a missing file, a file that is not a model of this tool, one
    written by an incompatible version, or a pickle-based file without `trust` (unpickling
    runs whatever code the file's author put in it, so it is refused before anything is read).
    """
    path = _model_path(Path(path))
    if not is_pickle_file(path):
        model, doc = load_safe(path)
        learn = Seq2SeqLearner(_data(doc["src_itos"], doc["tgt_itos"], path), model,
                               loss_func=partial(seq2seq_loss, pad_idx=model.pad_idx))
        learn.model.eval()
        if device is not None: learn.model.to(device)
        return learn
    if not trust:
        raise ModelFileError(f"{path}: a pickle-based model file, refused: loading it can run any code it holds; "
                             f"use the {MODEL_FILE} written beside it, or pass --trust-model-file (trust=True) "
                             "if you trust its source")
    warn_trust()
    try:
        with _no_progress():  # fastai re-processes the empty datasets with a progress bar
            learn = load_learner(path.parent, path.name)
    except Exception as e:  # unpickling garbage raises anything from UnpicklingError to KeyError
        raise ModelFileError(f"{path}: not a model exported by this tool ({type(e).__name__}: {e})") from e
    meta = getattr(learn.model, "meta", None)
    if not isinstance(learn, Seq2SeqLearner) or not isinstance(meta, dict):
        raise ModelFileError(f"{path}: a fastai export, but not one of this tool")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: written by version {meta.get('version')} (format "
                             f"{meta.get('format_version')}); this is {__version__} (format {FORMAT_VERSION})")
    learn.model.eval()
    if device is not None: learn.model.to(device)
    return learn


def _data(src_itos, tgt_itos, path: Path):
    "A stand-in for the DataBunch: what the Learner, restore and plots read (vocabularies, path, device)."
    x, y = SimpleNamespace(vocab=Vocab(list(src_itos))), SimpleNamespace(vocab=Vocab(list(tgt_itos)))
    return SimpleNamespace(path=path.parent, device=defaults.device, loss_func=None, x=x, y=y,
                           train_ds=SimpleNamespace(x=x, y=y))


def _model_path(path: Path) -> Path:
    "The model file `path` names: a folder stands for its model.safetensors (else its export.pkl)."
    if path.is_dir():
        safe = path / MODEL_FILE
        path = safe if safe.is_file() or not (path / "export.pkl").is_file() else path / "export.pkl"
    if not path.is_file(): raise ModelFileError(f"{path}: no such model file")
    return path
