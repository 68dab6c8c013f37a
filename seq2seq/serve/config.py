"""The service's options, declared once (`ServeConfig`): `seq2seq-serve` builds its flags from them.

Light: no torch, no fastai, no web framework (so `--help` is instant and tests read defaults cheaply).
"""
import ipaddress
from dataclasses import dataclass
from typing import Optional

from ..config import check, int_ge, option

__all__ = ["ServeConfig", "LOCAL_HOSTS", "REDACT_DEFAULT"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
REDACT_DEFAULT = "type"  # what /v1/deidentify does when a request names no redaction
_REDACT_MODES = ("none", "mask", "type", "surrogate", "hash", "encrypt")  # deid.redact.REDACT_MODES (light: not imported)


@dataclass(frozen=True)
class ServeConfig:
    "Where the service listens, how it batches, and the limits every request is held to."
    host: str = option("127.0.0.1", "address to bind; anything but localhost needs --api-key-file")
    port: int = option(8080, "TCP port (0: any free port, printed at start)")
    api_key_file: Optional[str] = option(None, "file holding the API key (one line); clients send "
                                               "'Authorization: Bearer KEY' to /v1/*", metavar="FILE")
    micro_batching: bool = option(True, "decode the sentences of concurrent requests together")
    max_batch: int = option(64, "most sentences decoded together in one micro-batch")
    max_wait_ms: float = option(5.0, "longest a sentence waits for others to join its micro-batch (ms)")
    max_queue: int = option(8192, "most sentences waiting to be decoded; beyond it requests get 503")
    max_body_bytes: int = option(4 * 1024 * 1024, "largest request body (bytes); larger ones get 413")
    max_texts: int = option(256, "most texts (/v1/annotate) or documents (/v1/deidentify) per request; more get 413")
    max_chars: int = option(100_000, "most characters per text or document; longer ones get 413")
    request_timeout: float = option(60.0, "seconds a request may take before it gets 504")
    shutdown_timeout: float = option(30.0, "on SIGTERM, seconds to let in-flight requests finish")
    redact: str = option(REDACT_DEFAULT, "redaction of /v1/deidentify when a request names none",
                         choices=_REDACT_MODES, flag="--redact")
    mask_char: str = option("*", "character written by the mask redaction")
    redact_policy: Optional[str] = option(None, "YAML/JSON file with one 'TYPE: operator' line a type (mask, type, "
                                                "surrogate, hash, encrypt, keep), applied to every /v1/deidentify "
                                                "request; a request's redact gives the operator of the other types",
                                          metavar="FILE")
    key_file: Optional[str] = option(None, "secret key file: consistent pseudonyms across requests and notes; needed "
                                           "by hash and encrypt (never logged or returned)", metavar="FILE")
    threads: Optional[int] = option(None, "CPU threads for torch (default: usable cores, at most 8)")

    def __post_init__(self):
        check([(0 <= self.port <= 65535, f"{{}} must be in 0..65535 (got {self.port!r})", "port"),
               (int_ge(self.max_batch, 1), f"{{}} must be >= 1 (got {self.max_batch!r})", "max_batch"),
               (self.max_wait_ms >= 0, f"{{}} must be >= 0 (got {self.max_wait_ms!r})", "max_wait_ms"),
               (int_ge(self.max_queue, 1), f"{{}} must be >= 1 (got {self.max_queue!r})", "max_queue"),
               (int_ge(self.max_body_bytes, 1), f"{{}} must be >= 1 (got {self.max_body_bytes!r})", "max_body_bytes"),
               (int_ge(self.max_texts, 1), f"{{}} must be >= 1 (got {self.max_texts!r})", "max_texts"),
               (int_ge(self.max_chars, 1), f"{{}} must be >= 1 (got {self.max_chars!r})", "max_chars"),
               (self.request_timeout > 0, f"{{}} must be > 0 (got {self.request_timeout!r})", "request_timeout"),
               (self.shutdown_timeout >= 0, f"{{}} must be >= 0 (got {self.shutdown_timeout!r})", "shutdown_timeout"),
               (self.redact in _REDACT_MODES, f"{{}} must be one of {', '.join(_REDACT_MODES)}", "redact"),
               (len(self.mask_char) == 1, "{} must be one character", "mask_char"),
               (self.threads is None or int_ge(self.threads, 1), "{} must be >= 1", "threads"),
               (self.local or self.api_key_file is not None,
                f"{{}} {self.host!r} is reachable from other machines: give {{}} (or bind to 127.0.0.1)",
                "host", "api_key_file")])

    @property
    def local(self) -> bool:
        "True when the service only listens on this machine (localhost or a loopback address)."
        if self.host in LOCAL_HOSTS: return True
        try: return ipaddress.ip_address(self.host).is_loopback
        except ValueError: return False
