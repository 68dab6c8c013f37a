"""Request and command-line options -> the redaction `deid.redact.redact` takes.

The one place the service decides how a document is redacted: a request's `redact`, `mask_char`
and `seed`, with the server's `--redact` and `--mask-char` as defaults, become a `RedactConfig`.
A redaction policy file (when `deid.redact` grows one) replaces this function's body, nothing else.
"""
from typing import Optional

from ..deid.redact import RedactConfig
from .config import ServeConfig

__all__ = ["redact_config"]


def redact_config(cfg: ServeConfig, mode: Optional[str] = None, mask_char: Optional[str] = None,
                  seed: Optional[int] = None) -> RedactConfig:
    """The `RedactConfig` of one request: its own `mode` and `mask_char` or the server's, and `seed`
    (the request's decoding seed; surrogates and date shifts are drawn from it and each document's
    id, as `seq2seq-predict --seed` does; default 0)."""
    return RedactConfig(mode or cfg.redact, mask_char or cfg.mask_char, 0 if seed is None else seed)
