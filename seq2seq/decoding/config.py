"""The decoding options, declared once (`DecodeConfig`): every command's decoding flags are its
fields, and Python callers pass them as keyword arguments (`decode_config`)."""
import dataclasses
from dataclasses import dataclass
from typing import Optional

from ..config import check, int_ge, is_int, option

__all__ = ["DECODERS", "DecodeConfig", "decode_config"]

DECODERS = ("greedy", "topk", "nucleus", "beam")


def _esc(x) -> str:
    "repr(x) safe inside a ConfigError template."
    return repr(x).replace("{", "{{").replace("}", "}}")


@dataclass(frozen=True)
class DecodeConfig:
    """Every decoding option, checked once here; scripts/predict.py's options are its fields.

    `generate` reads the decoder and search fields; `restore.restore_texts` also `bs` and
    `faithful`. Python callers may pass the fields as keyword arguments instead (`decode_config`).
    """
    decoder: str = option("greedy", "decoding strategy", choices=DECODERS)
    beam_size: int = option(5, "beams (beam decoder)")
    n_best: int = option(1, "hypotheses kept per text; > 1 adds PRED_COL_nbest to the output CSV, "
                            "as JSON [text, score] pairs")
    top_k: int = option(10, "k for the topk decoder")
    top_p: float = option(0.9, "probability mass for the nucleus decoder")
    temperature: float = option(1.0, "softmax temperature (every decoder; matters to the sampling ones)")
    length_penalty: float = option(0.6, "GNMT alpha for beam search (0: none)")
    max_len: Optional[int] = option(None, "most tokens per output (default: 2 x source length + 10)")
    min_len: int = option(0, "no end of sentence before this many tokens")
    seed: Optional[int] = option(None, "seed for the sampling decoders (None: nondeterministic)")
    bs: int = option(64, "sentences decoded per batch")
    faithful: bool = option(True, "constrain the output to the source text plus tags (off: free generation)")
    max_tokens: Optional[int] = option(2000, "decode a longer text in windows of this many tokens cut at whitespace "
                                             "(faithful output kept; None: never)")

    def __post_init__(self):
        if self.decoder not in DECODERS:
            check([(False, f"unknown {{}} {_esc(self.decoder)}; valid decoders: {', '.join(DECODERS)}", "decoder")])
        ints = [(n, 0 if n == "min_len" else 1) for n in ("beam_size", "n_best", "top_k", "bs", "min_len")]
        check([(is_int(getattr(self, n)), f"{{}} must be an integer, got {_esc(getattr(self, n))}", n)
               for n, _ in ints] + [(getattr(self, n) >= lo, f"{{}} must be >= {lo} (got {getattr(self, n)})", n)
                                    for n, lo in ints])
        mx, p, t, a = self.max_len, self.top_p, self.temperature, self.length_penalty
        check([(mx is None or int_ge(mx, 1), f"{{}} must be None or an integer >= 1 (got {_esc(mx)})", "max_len"),
               (self.max_tokens is None or int_ge(self.max_tokens, 1),
                f"{{}} must be None or an integer >= 1 (got {_esc(self.max_tokens)})", "max_tokens"),
               (0 < p <= 1, f"{{}} must be in (0, 1] (got {p!r})", "top_p"),
               (t > 0, f"{{}} must be > 0 (got {t!r})", "temperature"),
               (a >= 0, f"{{}} must be >= 0 (got {a!r})", "length_penalty"),
               (self.seed is None or is_int(self.seed), f"{{}} must be None or an integer", "seed"),
               (isinstance(self.faithful, bool), f"{{}} must be True or False (got {_esc(self.faithful)})", "faithful"),
               (self.decoder != "beam" or self.n_best <= self.beam_size,
                f"{{}} must be <= {{}} with beam search (got {self.n_best} > {self.beam_size})", "n_best", "beam_size")])


def decode_config(cfg: Optional[DecodeConfig] = None, **options) -> DecodeConfig:
    "`cfg` (default: DecodeConfig()) with the fields in `options` replaced; checked again."
    if cfg is None: return DecodeConfig(**options)
    if not isinstance(cfg, DecodeConfig): raise TypeError(f"cfg must be a DecodeConfig, got {type(cfg).__name__}")
    return dataclasses.replace(cfg, **options) if options else cfg
