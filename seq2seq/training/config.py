"""The options of a training run, declared once: scripts/train.py's command line is made from these
dataclasses' fields (see `config.add_options`). Light to import (no fastai), so `--help` is quick."""
from dataclasses import dataclass
from typing import Optional

from ..config import check, int_ge, option
from ..data.augment import AugmentConfig
from ..models.config import ModelConfig

__all__ = ["valid_share", "auto_bs", "TrainConfig", "TeacherForcingConfig", "LaunchConfig", "OUTPUTS", "BACKENDS"]

BACKENDS = ("auto", "gloo", "nccl")

# Every file a training run writes to its output folder (`training.train` and its callbacks).
OUTPUTS = {
    "valid.csv": "the held-out validation rows",
    "lr_find.png": "lr_find's loss curve and the suggested learning rate (when --lr is not given)",
    "metrics.jsonl": "one JSON object per finished epoch (appended as training goes)",
    "history.csv": "the same rows as a table",
    "losses.png": "loss curves, redrawn every epoch",
    "metrics.png": "one panel per metric, redrawn every epoch",
    "best.pth": "weights of the best epoch by --monitor (the ones exported)",
    "last.pth": "everything needed to --resume after the last finished epoch",
    "metrics.json": "the exported epoch's validation figures",
    "model.safetensors": "the trained model, safe to share (seq2seq-predict --model, learner.load_seq2seq)",
    "export.pkl": "the same model as a pickle for fastai's load_learner (loading it can run code: trusted use only)",
    "MODEL_CARD.md": "what the model was trained on, its types and figures, intended use and limits",
    "cache/": "fastText embeddings, so that a rerun skips that work",
}


@dataclass
class TeacherForcingConfig:
    "Teacher forcing: the probability of feeding the truth decays linearly from `start` to `floor`."
    start: float = option(1.0, "teacher forcing: probability of feeding the truth at the start", flag="--tf-start")
    floor: float = option(1.0, "teacher forcing: the probability decays linearly from --tf-start to this "
                               "(1: full forcing throughout)", flag="--tf-floor")
    decay_epochs: float = option(5.0, "epochs over which teacher forcing decays", flag="--tf-epochs")

    def __post_init__(self):
        check([(0 <= self.start <= 1, f"{{}} must be in [0, 1] (got {self.start})", "start"),
               (0 <= self.floor <= 1, f"{{}} must be in [0, 1] (got {self.floor})", "floor")])


@dataclass
class LaunchConfig:
    "How many training processes to start on this machine, and how they talk (see `run_distributed`)."
    nproc: int = option(1, "training processes to start on this machine (data parallel; --bs is per process); "
                           "leave at 1 under torchrun")
    backend: str = option("auto", "torch.distributed backend: auto = nccl with one GPU per process when there "
                                  "are enough GPUs, else gloo on CPU", choices=BACKENDS)

    def __post_init__(self):
        check([(int_ge(self.nproc, 1), f"{{}} must be >= 1 (got {self.nproc!r})", "nproc"),
               (self.backend in BACKENDS, f"{{}} must be one of {', '.join(BACKENDS)} (got {self.backend!r})",
                "backend")])


@dataclass
class TrainConfig:
    "Everything a training run needs; scripts/train.py's options are its fields (and its configs' fields)."
    csv: str = option("data/sample.csv", "CSV of sentence pairs (UTF-8, with a header)")
    out: str = option("models/sample", "output folder")
    src: str = option("orig_text", "source column (the model reads it)")
    tgt: str = option("annotated_text", "target column (the model writes it); swap --src/--tgt to learn to strip tags")
    lang: str = option("en", "spaCy language code for tokenization (e.g. en, es)")
    vectors: Optional[str] = option(None, "pretrained fastText .bin or .vec file (e.g. cc.en.300.bin); "
                                          "default: train fastText on the training text")
    epochs: int = option(10, "epochs of fit_one_cycle (over the training rows and their --augment copies)")
    lr: Optional[float] = option(None, "maximum learning rate; default: the one lr_find suggests")
    bs: Optional[int] = option(None, "batch size (per process); default: about a hundredth of the training rows, a "
                                     "power of two from 16 to 128 (small data needs more, smaller steps)")
    valid_pct: float = option(0.1, "share of rows held out for validation")
    valid_max: int = option(1000, "hold out at most this many rows (0: no cap): a large corpus trains on the rest")
    seed: int = option(42, "random seed (split, init, fastText)")
    model: ModelConfig = option(help="model sizes and options", default_factory=ModelConfig)
    teacher_forcing: TeacherForcingConfig = option(help="teacher forcing", default_factory=TeacherForcingConfig)
    augment: AugmentConfig = option(help="mention swapping", default_factory=AugmentConfig)
    decode_limit: int = option(1000, "validation sentences decoded per epoch for BLEU, chrF and span F1 (0: none)")
    device: str = option("auto", "auto (CUDA when available), cpu, cuda or cuda:N")
    fp16: bool = option(False, "mixed-precision training (CUDA only)")
    threads: Optional[int] = option(None, "CPU threads for torch (default: usable cores, at most 8)")
    monitor: str = option("auto", "value that picks the best epoch (best.pth, the exported weights) and drives "
                                  "--patience: auto (span_f1 when the validation targets hold spans and "
                                  "--decode-limit > 0, else valid_loss), valid_loss, train_loss, token_acc, bleu, "
                                  "chrf or span_f1")
    patience: Optional[int] = option(None, "stop after this many epochs without a better --monitor value")
    resume: Optional[str] = option(None, "continue the interrupted run in DIR from its last epoch (DIR/last.pth); "
                                         "give the same data and model options; DIR is also the output folder",
                                   metavar="DIR")
    skip_bad_rows: bool = option(False, "train on the rows whose columns agree (the annotated text without its tags "
                                        "is the plain one) and count the others, instead of stopping at them")

    def __post_init__(self):
        ints = [(n, getattr(self, n)) for n in ("epochs", "bs", "threads", "patience")]
        check([(v is None or int_ge(v, 1), f"{{}} must be >= 1 (got {v!r})", n) for n, v in ints] +
              [(int_ge(v, 0), f"{{}} must be >= 0 (got {v!r})", n) for n, v in
               (("decode_limit", self.decode_limit), ("valid_max", self.valid_max))] +
              [(0 < self.valid_pct < 1, f"{{}} must be between 0 and 1 (got {self.valid_pct!r})", "valid_pct"),
               (self.lr is None or self.lr > 0, f"{{}} must be > 0 (got {self.lr!r})", "lr"),
               (not self.resume or self.out in (_DEFAULT_OUT, self.resume),
                "{} DIR writes to DIR; do not set {} as well", "resume", "out")])
        if self.resume: self.out = self.resume


_DEFAULT_OUT = TrainConfig.__dataclass_fields__["out"].default


def valid_share(cfg: TrainConfig, n_rows: int) -> float:
    "The share of `n_rows` held out: --valid-pct, lowered so that at most --valid-max rows are (when set)."
    if not cfg.valid_max or n_rows * cfg.valid_pct <= cfg.valid_max: return cfg.valid_pct
    return cfg.valid_max / n_rows


def auto_bs(n_rows: int, lo: int = 16, hi: int = 128) -> int:
    "The default batch size for `n_rows` training rows: the power of two nearest below n_rows / 100, in [lo, hi]."
    bs = lo
    while bs * 2 <= min(hi, n_rows / 100): bs *= 2
    return bs


