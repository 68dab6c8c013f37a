"""Request and command-line options -> the `RedactConfig` that `deid.redact` takes.

The one place the service decides how a document is redacted: a request's `redact`, `mask_char` and
`seed`, with the server's `--redact` and `--mask-char` as defaults, and the server's `--redact-policy`
and `--key-file` (read once; a request can name neither: the key and the policy are the operator's).
"""
import dataclasses
import functools
from typing import Optional

from ..deid.redact import RedactConfig
from .config import ServeConfig

__all__ = ["redact_config", "server_redaction"]


@functools.lru_cache(maxsize=4)
def server_redaction(cfg: ServeConfig) -> RedactConfig:
    "The server's own redaction: its --redact, --mask-char, --redact-policy and --key-file (files read once)."
    return RedactConfig(cfg.redact, cfg.mask_char, key_file=cfg.key_file, policy_file=cfg.redact_policy)


def redact_config(cfg: ServeConfig, mode: Optional[str] = None, mask_char: Optional[str] = None,
                  seed: Optional[int] = None) -> RedactConfig:
    """The `RedactConfig` of one request: its own `mode` and `mask_char` or the server's, and `seed`
    (the request's decoding seed; without a key file surrogates and date shifts are drawn from it and
    each document's id, as `seq2seq-predict --seed` does; default 0). A mode that needs a key (hash,
    encrypt) on a server without --key-file is a ConfigError (the caller answers 422)."""
    base = server_redaction(cfg)
    return dataclasses.replace(base, mode=mode or cfg.redact, mask_char=mask_char or cfg.mask_char,
                               seed=0 if seed is None else seed)
