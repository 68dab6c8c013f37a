"""`ModelConfig`: the architecture, sizes and options of a model, saved with it. Light (no torch,
no fastai), so that building the command line and reading a model file's description are cheap."""
from dataclasses import asdict, dataclass

from ..config import check, int_ge, option

__all__ = ["ARCH_NAMES", "OBJECTIVES", "CELLS", "ModelConfig"]

ARCH_NAMES = ("aligned", "seed", "attention")  # the keys of registry.ARCHS, in order (checked there)
OBJECTIVES = ("faithful", "full")
CELLS = ("gru", "lstm", "mogrifier")  # recurrent cells (models/cells.py `make_rnn`)


@dataclass
class ModelConfig:
    """Architecture, sizes and options of a model (saved with it; `--resume` checks them).

    arch: "aligned" (default: seq2seq/models/aligned.py, source-aligned decoder, open-vocabulary source),
        "seed" (plain GRU encoder-decoder) or "attention" (bidirectional encoder + additive
        attention; `attention=True` means the same).
    objective: "faithful" (cross-entropy over the candidates the faithful constraint allows;
        aligned arch only, the others always train on "full") or "full" (over the whole target
        vocabulary, needed for free decoding).
    src_words: rows of the word embedding (set by the learner from the training counts; 0: one per
        source id).
    """
    arch: str = option("aligned", "aligned: source-aligned decoder over an open-vocabulary source (fastText "
                                  "sub-words + word + shape); seed: plain GRU encoder-decoder; attention: BiGRU "
                                  "encoder + additive attention", choices=ARCH_NAMES)
    objective: str = option("faithful", "faithful: cross-entropy over the candidates faithful decoding chooses from "
                                        "(aligned arch); full: over the whole target vocabulary (needed for "
                                        "--no-faithful decoding)", choices=OBJECTIVES)
    emb_size: int = option(128, "target embedding size (= decoder hidden size, tied weights); with --arch "
                               "seed/attention also the source's, and it must match --vectors' dimension")
    hidden: int = option(128, "encoder hidden size (per direction for the bidirectional encoders)")
    layers: int = option(1, "recurrent layers in encoder and decoder")
    attention: bool = option(False, "the same as --arch attention")
    cell: str = option("gru", "recurrent cell", choices=CELLS)
    mogrify_steps: int = option(5, "rounds of mutual gating (--cell mogrifier)")
    drop_mult: float = option(1.0, "scale of every dropout probability")
    sub_dim: int = option(64, "fastText sub-word vector size (aligned arch)")
    buckets: int = option(100_000, "fastText n-gram hashing buckets kept in the model (aligned arch)")
    word_dim: int = option(64, "trainable word embedding size (aligned arch)")
    shape_dim: int = option(16, "word-shape embedding size (aligned arch)")
    char_dim: int = option(64, "character CNN features per source token (aligned arch; 0: none)")
    ctx_skip: bool = option(True, "add the aligned source position's encoding to the decoder output (aligned arch)")
    word_drop: float = option(0.1, "share of training tokens whose word embedding is the unknown word's (aligned arch)")
    src_words: int = option(0, "word-embedding rows (set by the learner)", cli=False)

    def __post_init__(self):
        check([(int_ge(getattr(self, n), 1), f"{{}} must be >= 1 (got {getattr(self, n)!r})", n)
               for n in ("emb_size", "hidden", "layers", "sub_dim", "buckets", "word_dim", "shape_dim")] +
              [(self.cell in CELLS, f"unknown {{}} {self.cell!r}; choose one of {', '.join(CELLS)}", "cell"),
               (self.arch in ARCH_NAMES, f"unknown {{}} {self.arch!r}; choose one of {', '.join(ARCH_NAMES)}", "arch"),
               (self.objective in OBJECTIVES,
                f"unknown {{}} {self.objective!r}; choose one of {', '.join(OBJECTIVES)}", "objective"),
               (int_ge(self.char_dim, 0), f"{{}} must be >= 0 (got {self.char_dim!r})", "char_dim"),
               (int_ge(self.mogrify_steps, 0), f"{{}} must be >= 0 (got {self.mogrify_steps!r})", "mogrify_steps"),
               (0 <= self.word_drop < 1, f"{{}} must be in [0, 1) (got {self.word_drop!r})", "word_drop"),
               (self.drop_mult >= 0, f"{{}} must be >= 0 (got {self.drop_mult!r})", "drop_mult")])
        if self.attention and self.arch == "aligned": self.arch = "attention"  # the old flag still works
        if self.arch == "attention": self.attention = True

    def to_dict(self): return asdict(self)
