"""The architectures, one entry each (`ARCHS`): how to build a model of the two vocabularies, how
training prepares a fresh one from the training text, its loss and accuracy, whether its source
vocabulary is open, and what plot shows its decisions. Training (training/learner.py, training/job.py),
loading (models/modelfile.py) and plotting (viz/plots.py) read this table and nothing else, so adding
an architecture is one entry here (and its name in `config.ARCH_NAMES`, checked at import).
"""
import math
from collections import Counter
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ..errors import UserError
from .aligned import AlignedSeq2Seq, frequent_rows
from .config import ARCH_NAMES, ModelConfig
from .emb import fasttext_embedding, subword_table
from .losses import CandidateAccuracy, CandidateLoss, TokenAccuracy, seq2seq_loss
from .rnn import Seq2SeqRNN, get_seq2seq_model

__all__ = ["Arch", "ARCHS", "arch_of", "build_model", "TrainingText", "PrepareOptions", "TensorSpec",
           "implied_tensors"]


class TrainingText(NamedTuple):
    "What a fresh model is prepared from: both vocabularies and the training rows as id lists."
    src_itos: Sequence[str]
    tgt_itos: Sequence[str]
    src_ids: Sequence[Sequence[int]]
    tgt_ids: Sequence[Sequence[int]]

    def texts(self, side: str) -> list:
        "The training sentences of `side` ('src' or 'tgt') as space-joined tokens (fastText's input)."
        itos, rows = (self.src_itos, self.src_ids) if side == "src" else (self.tgt_itos, self.tgt_ids)
        return [" ".join(itos[i] for i in ids) for ids in rows]


@dataclass(frozen=True)
class PrepareOptions:
    "How training prepares a fresh model (see `seq2seq_learner`)."
    vectors: Optional[str] = None       # a pretrained fastText .bin/.vec (archs with `takes_vectors`)
    cache_dir: Optional[Path] = None    # where fastText results are cached
    emb_epochs: int = 10                # fastText epochs
    seed: int = 42
    restore: bool = True                # the target holds markers (restore task), else the strip task
    verbose: bool = True


@dataclass(frozen=True)
class Arch:
    """One architecture.

    build: (cfg, src_itos, tgt_itos) -> a fresh model; with `load_state_dict` it rebuilds a trained one.
    prepare: (cfg, TrainingText, PrepareOptions) -> (model, cfg): a fresh model initialised from the
        training text (fastText tables or embeddings), and the config as trained (sizes it set).
    loss: (model) -> (loss function, token-accuracy metric) of the model's objective.
    open_vocab: the source vocabulary keeps every training word and any other string gets its own
        features at prediction (so training numericalizes the source with min_freq 1).
    takes_vectors: accepts pretrained fastText vectors (`--vectors`).
    plot: "decisions", "attention" or None: what `viz.plots.plot_model` draws for it.
    vocab_rows: the stored tensors whose first dimension is the length of the source and of the target
        vocabulary (any one of the names: a tied weight is stored under one), so that a model file's
        vocabularies are checked against its tensors before anything is built (models/modelfile.py).
    """
    name: str
    build: Callable[[ModelConfig, Sequence[str], Sequence[str]], nn.Module]
    prepare: Callable[[ModelConfig, TrainingText, PrepareOptions], tuple]
    loss: Callable[[nn.Module], tuple]
    open_vocab: bool = False
    takes_vectors: bool = False
    plot: Optional[str] = None
    vocab_rows: Tuple[Tuple[str, ...], Tuple[str, ...]] = ((), ())


# ---------------------------------------------------------------- the aligned arch

def _prepare_aligned(cfg: ModelConfig, tt: TrainingText, opts: PrepareOptions):
    "An `AlignedSeq2Seq` with fastText n-grams trained on the training sources and its word rows set."
    if opts.vectors: raise UserError("--vectors initialises the seed and attention archs; the aligned arch trains "
                                     "its own fastText sub-word table (leave out --vectors or pick --arch)")
    counts = Counter(i for ids in tt.src_ids for i in ids)
    rows = frequent_rows(tt.src_itos, {t: counts[i] for i, t in enumerate(tt.src_itos)})
    if not opts.restore and cfg.objective == "faithful": cfg = replace(cfg, objective="full")  # strip task: docs/model.md
    cfg = replace(cfg, src_words=max(rows) + 1)
    ngrams = subword_table(tt.texts("src"), dim=cfg.sub_dim, buckets=cfg.buckets, epochs=opts.emb_epochs,
                           cache_dir=opts.cache_dir)
    model = AlignedSeq2Seq(cfg, tt.src_itos, tt.tgt_itos)
    model.fill_features(ngrams, rows)
    if opts.verbose: print(f"aligned model: {len(tt.src_itos)} source words ({cfg.src_words} with a word row), "
                           f"{cfg.buckets} fastText n-gram rows of {cfg.sub_dim}")
    return model, cfg


def _aligned_loss(model: AlignedSeq2Seq):
    "Candidate loss and accuracy for the faithful objective, the sequence ones for 'full'."
    if model.is_faithful(): return CandidateLoss(model.gold_columns()), CandidateAccuracy(model.gold_columns())
    return _sequence_loss(model)


# ---------------------------------------------------------------- the seed and attention archs

def _build_rnn(cfg: ModelConfig, src_itos, tgt_itos) -> Seq2SeqRNN:
    "A `Seq2SeqRNN` with fresh embeddings (ids of BOS, EOS and padding read from the target vocabulary)."
    stoi = {t: i for i, t in enumerate(tgt_itos)}
    pad = stoi["xxpad"]
    embs = [nn.Embedding(len(itos), cfg.emb_size, padding_idx=pad) for itos in (src_itos, tgt_itos)]
    return get_seq2seq_model(cfg, *embs, bos_idx=stoi["xxbos"], eos_idx=stoi["xxeos"], pad_idx=pad)


def _prepare_rnn(cfg: ModelConfig, tt: TrainingText, opts: PrepareOptions):
    "A `Seq2SeqRNN` whose source and target embeddings come from one fastText pass over both vocabularies."
    union = list(dict.fromkeys(list(tt.src_itos) + list(tt.tgt_itos)))
    texts = None if opts.vectors else tt.texts("src") + tt.texts("tgt")
    emb, cov = fasttext_embedding(union, vectors=opts.vectors, texts=texts, emb_size=cfg.emb_size,
                                  cache_dir=opts.cache_dir, epochs=opts.emb_epochs, seed=opts.seed)
    if opts.verbose: print(f"source+target vocabulary {cov}")
    pos = {t: i for i, t in enumerate(union)}
    embs = [nn.Embedding.from_pretrained(emb.weight.data[[pos[t] for t in itos]], freeze=False, padding_idx=1)
            for itos in (tt.src_itos, tt.tgt_itos)]
    stoi = {t: i for i, t in enumerate(tt.tgt_itos)}
    return get_seq2seq_model(cfg, *embs, bos_idx=stoi["xxbos"], eos_idx=stoi["xxeos"], pad_idx=stoi["xxpad"]), cfg


def _sequence_loss(model):
    "Cross-entropy and token accuracy over the whole target vocabulary, padding ignored."
    return partial(seq2seq_loss, pad_idx=model.pad_idx), TokenAccuracy(model.pad_idx)


# ---------------------------------------------------------------- the table

_RNN_ROWS = (("emb_enc.weight",), ("emb_dec.weight", "out.weight"))  # the tied output weight: either name

ARCHS = {a.name: a for a in (
    Arch("aligned", build=AlignedSeq2Seq, prepare=_prepare_aligned, loss=_aligned_loss, open_vocab=True,
         plot="decisions", vocab_rows=(("src_shape",), ("out_bias",))),
    Arch("seed", build=_build_rnn, prepare=_prepare_rnn, loss=_sequence_loss, takes_vectors=True,
         vocab_rows=_RNN_ROWS),
    Arch("attention", build=_build_rnn, prepare=_prepare_rnn, loss=_sequence_loss, takes_vectors=True,
         plot="attention", vocab_rows=_RNN_ROWS),
)}
if tuple(ARCHS) != ARCH_NAMES: raise ImportError(f"models.config.ARCH_NAMES {ARCH_NAMES} != the registry's {tuple(ARCHS)}")


def arch_of(cfg: ModelConfig) -> Arch:
    "The registry entry of `cfg.arch`."
    return ARCHS[cfg.arch]


def build_model(cfg: ModelConfig, src_itos, tgt_itos) -> nn.Module:
    """The one builder of a fresh model of `cfg.arch` for the two vocabularies. Everything a trained
    model learned (and, for the aligned arch, its fastText tables) lives in its state_dict, so this plus
    `load_state_dict` rebuilds it (models/modelfile.py): every parameter and persistent buffer the
    config implies is made here."""
    return arch_of(cfg).build(cfg, src_itos, tgt_itos)



_LARGE = 2 ** 20  # elements: a tensor made while reading shapes is put on the meta device above this


def _numel(args, kwargs) -> int:
    "Elements of the tensor a factory call (`torch.empty(2, 3)`, `torch.full((2, 3), x)`) makes."
    size = kwargs.get("size", args[0] if args else ())
    if isinstance(size, int): size = [a for a in args if isinstance(a, int)]
    try: return math.prod(int(d) for d in size)
    except (TypeError, ValueError): return 0


class _LargeOnMeta(TorchFunctionMode):
    """While a model is built to read its shapes: a tensor of more than `_LARGE` elements is made on
    the meta device (shape and dtype, no memory) and torch.nn.init leaves it alone; smaller ones are
    made as usual. Not everything on meta: on meta tensors many ops run torch's Python reference
    kernels, whose first use imports torch._dynamo (~2 CPU-s and 70 MB for every model loaded)."""
    FACTORIES = {torch.empty, torch.zeros, torch.ones, torch.full, torch.randn, torch.rand}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.FACTORIES and _numel(args, kwargs) > _LARGE: kwargs = {**kwargs, "device": "meta"}
        elif getattr(func, "__module__", None) == "torch.nn.init":
            t = args[0] if args else kwargs["tensor"]
            if t.is_meta: return t
        return func(*args, **kwargs)


class TensorSpec(NamedTuple):
    "One tensor of a model's state_dict: its names (a tied weight has several), shape and dtype."
    names: Tuple[str, ...]
    shape: Tuple[int, ...]
    dtype: torch.dtype


def implied_tensors(cfg: ModelConfig, src_itos, tgt_itos) -> Tuple[nn.Module, List[TensorSpec]]:
    """What a model of `cfg` for these vocabularies stores, without allocating it: the model built with
    every large tensor on the meta device (`_LargeOnMeta`: shapes and dtypes, no data; its special-token
    ids are set) and one `TensorSpec` per tensor of its state_dict. Costs time in the vocabularies'
    lengths and at most a few MB per tensor, whatever the sizes `cfg` gives."""
    with _LargeOnMeta(): model = build_model(cfg, src_itos, tgt_itos)
    groups = {}
    for name, t in model.state_dict(keep_vars=True).items(): groups.setdefault(id(t), ([], t))[0].append(name)
    return model, [TensorSpec(tuple(names), tuple(t.shape), t.dtype) for names, t in groups.values()]
