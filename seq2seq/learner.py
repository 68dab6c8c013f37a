"""Model builder + `seq2seq_learner(data, ...)`, export and loading of trained models."""
import contextlib
from functools import partial
from pathlib import Path
from typing import Optional

import torch

from . import __version__
from .compat import load_learner
from fastai.basic_train import Learner

from .callbacks import TeacherForcing, TeacherForcingConfig
from .emb import fasttext_embedding
from .metrics import DecodedMetric, TokenAccuracy, ValidDecodes, seq2seq_loss
from .model import ModelConfig, build_model, get_seq2seq_model
from .aligned import AlignedSeq2Seq, CandidateAccuracy, CandidateLoss, frequent_rows
from .tags import is_marker
from .utils import atomic_write
from .modelfile import MODEL_FILE, ModelFileError, is_pickle_file, load_safe, save_safe, warn_trust
from .errors import UserError

__all__ = ["Seq2SeqLearner", "seq2seq_learner", "export_learner", "export_safe", "load_seq2seq", "build_model",
           "ModelFileError", "FORMAT_VERSION"]

FORMAT_VERSION = 1  # bump when an export written by an older version can no longer be read


class Seq2SeqLearner(Learner):
    "A fastai `Learner` for sentence pairs that can decode texts (see seq2seq/restore.py)."

    @property
    def meta(self) -> dict: return self.model.meta

    def restore(self, texts, cfg=None, **options):
        """Annotated versions of `texts` (or plain ones, for a model trained to strip tags).

        `cfg` is a `decode.DecodeConfig`, or give its fields as keyword arguments (e.g.
        `decoder="beam", beam_size=5`); see `restore.restore_texts`.
        """
        from .restore import restore_texts
        return restore_texts(self, texts, cfg, **options)

    def predict(self, text: str, cfg=None, **options) -> str:
        "The restored version of one text (options as for `restore`)."
        return self.restore([text], cfg, **options)[0]


def _texts(ll) -> list:
    "Training sentences of a LabelList side as space-joined tokens (fastText's input)."
    itos = ll.vocab.itos
    return [" ".join(itos[i] for i in ids) for ids in ll.items]


def _embeddings(data, emb_size, vectors, cache_dir, epochs, seed, verbose):
    "Source and target embeddings from one fastText pass over the union of both vocabularies."
    src_itos, tgt_itos = data.train_ds.x.vocab.itos, data.train_ds.y.vocab.itos
    union = list(dict.fromkeys(src_itos + tgt_itos))
    texts = None if vectors else _texts(data.train_ds.x) + _texts(data.train_ds.y)
    emb, cov = fasttext_embedding(union, vectors=vectors, texts=texts, emb_size=emb_size,
                                  cache_dir=cache_dir, epochs=epochs, seed=seed)
    if verbose: print(f"source+target vocabulary {cov}")
    pos = {t: i for i, t in enumerate(union)}
    res = []
    for itos in (src_itos, tgt_itos):
        w = emb.weight.data[[pos[t] for t in itos]]
        res.append(torch.nn.Embedding.from_pretrained(w, freeze=False, padding_idx=1))
    return res


def _aligned_model(data, cfg: ModelConfig, cache_dir, emb_epochs: int, restore: bool, verbose: bool):
    "An `AlignedSeq2Seq` with fastText n-grams trained on the training sources and its word rows set."
    from collections import Counter
    from dataclasses import replace
    from .emb import subword_table
    x = data.train_ds.x
    src_itos, counts = x.vocab.itos, Counter(i for ids in x.items for i in ids)
    rows = frequent_rows(src_itos, {t: counts[i] for i, t in enumerate(src_itos)})
    if not restore and cfg.objective == "faithful": cfg = replace(cfg, objective="full")  # strip task: see README
    cfg = replace(cfg, src_words=max(rows) + 1)
    ngrams = subword_table(_texts(x), dim=cfg.sub_dim, buckets=cfg.buckets, epochs=emb_epochs, cache_dir=cache_dir)
    model = build_model(cfg, src_itos, data.train_ds.y.vocab.itos)
    model.fill_features(ngrams, rows)
    if verbose: print(f"aligned model: {len(src_itos)} source words ({cfg.src_words} with a word row), "
                      f"{cfg.buckets} fastText n-gram rows of {cfg.sub_dim}")
    return model, cfg


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
    if cfg.arch == "aligned":
        if vectors: raise UserError("--vectors initialises the seed and attention archs; the aligned arch trains "
                                    "its own fastText sub-word table (leave out --vectors or pick --arch)")
        model, cfg = _aligned_model(data, cfg, cache_dir, emb_epochs, restore, verbose)
    else:
        embs = _embeddings(data, cfg.emb_size, vectors, cache_dir, emb_epochs, seed, verbose)
        stoi = data.train_ds.y.vocab.stoi
        model = get_seq2seq_model(cfg, *embs, bos_idx=stoi["xxbos"], eos_idx=stoi["xxeos"], pad_idx=stoi["xxpad"])
    model.meta = dict(format_version=FORMAT_VERSION, version=__version__, lang=lang, src=src, tgt=tgt,
                      task="restore" if restore else "strip", config=cfg.to_dict())
    faithful = cfg.arch == "aligned" and cfg.objective == "faithful"
    loss = CandidateLoss(model.gold_columns()) if faithful else partial(seq2seq_loss, pad_idx=model.pad_idx)
    learn = Seq2SeqLearner(data, model, loss_func=loss,
                           callback_fns=[partial(TeacherForcing, cfg=teacher_forcing)], **learn_kwargs)
    decodes = ValidDecodes(learn, limit=decode_limit)
    acc = CandidateAccuracy(model.gold_columns()) if faithful else TokenAccuracy(model.pad_idx)
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
    "Write `learn`'s model as a safe model file (see seq2seq/modelfile.py), e.g. DIR/model.safetensors."
    return save_safe(learn.model, learn.data.train_ds.x.vocab.itos, learn.data.train_ds.y.vocab.itos, path)


@contextlib.contextmanager
def _no_progress():
    "Silence fastai's text-processing progress bars."
    import fastai.text.data as ftd
    orig = ftd.progress_bar
    ftd.progress_bar = lambda it, **kwargs: it
    try:
        yield
    finally:
        ftd.progress_bar = orig


def load_seq2seq(path, device=None, trust: bool = False) -> Seq2SeqLearner:
    """Load a trained model: a safe `model.safetensors` (see seq2seq/modelfile.py), a folder holding
    one, or, with `trust=True` only, a pickle-based `export.pkl` written by `export_learner`.

    Raises `ModelFileError` for a missing file, a file that is not a model of this tool, one
    written by an incompatible version, or a pickle-based file without `trust` (unpickling
    runs whatever code the file's author put in it, so it is refused before anything is read).
    """
    path = _model_path(Path(path))
    if not is_pickle_file(path): return load_safe(path, device)
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


def _model_path(path: Path) -> Path:
    "The model file `path` names: a folder stands for its model.safetensors (else its export.pkl)."
    if path.is_dir():
        safe = path / MODEL_FILE
        path = safe if safe.is_file() or not (path / "export.pkl").is_file() else path / "export.pkl"
    if not path.is_file(): raise ModelFileError(f"{path}: no such model file")
    return path
