"""The secret key of consistent pseudonyms, `hash` and `encrypt` (`--key-file FILE`).

The key file is a secret the user keeps (`new_key_file` writes 32 random bytes as hex, readable by its
owner only); any file of at least 16 bytes (outer whitespace left out) will do. Its bytes are never
used directly: `Key.derive(label)` gives one independent sub-key per use (HMAC-SHA256 of a label),
so the seeds of surrogates, the hashes and the encryption key reveal nothing of one another.

- `Key.seed(*parts)`: an integer seeding the surrogate of one original string and type (keyed HMAC),
  the same in every note, run and process.
- `Key.hash(type, text)`: keyed HMAC-SHA256 of the string (in `normal_form`), truncated to `chars`
  hex digits and prefixed with the type: `[NAME:PATIENT:3f9a1c2b7d0e]`.

The key's bytes appear in no output, message or repr.
"""
import hashlib
import hmac
import os
import secrets
import unicodedata
from pathlib import Path

from ..errors import UserError

__all__ = ["KeyFileError", "Key", "load_key", "new_key_file", "normal_form", "MIN_KEY_BYTES"]

MIN_KEY_BYTES = 16


class KeyFileError(UserError):
    "The key file is missing, unreadable or too short (the message never shows its contents)."


def normal_form(s: str) -> str:
    "How strings are compared for pseudonyms: NFKC, case-folded, accents removed, whitespace collapsed."
    s = unicodedata.normalize("NFKD", s.casefold())
    s = "".join(c for c in s if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFKC", s).split())


class Key:
    "A secret key (bytes); see the module docstring."

    def __init__(self, secret: bytes, source: str = "key"):
        if len(secret) < MIN_KEY_BYTES:
            raise KeyFileError(f"--key-file {source}: holds {len(secret)} byte(s); a key needs at least {MIN_KEY_BYTES} "
                            "(seq2seq-reidentify --new-key FILE writes one)")
        self._secret, self.source = bytes(secret), source

    def __repr__(self) -> str:
        return f"Key(from {self.source})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Key) and hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash(self.derive("eq"))

    def derive(self, label: str, n: int = 32) -> bytes:
        "A sub-key of `n` bytes (at most 64) for one use, named by `label`."
        out = hmac.new(self._secret, f"seq2seq-annotate/{label}/1".encode(), hashlib.sha256).digest()
        if n > 32: out += hmac.new(self._secret, f"seq2seq-annotate/{label}/2".encode(), hashlib.sha256).digest()
        return out[:n]

    def seed(self, *parts: str) -> int:
        "A 64-bit seed from the key and `parts` (keyed HMAC): the same wherever and whenever it is computed."
        msg = "\x00".join(parts).encode("utf-8", "surrogatepass")
        return int.from_bytes(hmac.new(self.derive("seed"), msg, hashlib.sha256).digest()[:8], "big")

    def hash(self, type: str, text: str, chars: int = 12) -> str:
        "`[TYPE:hex]`: the keyed HMAC-SHA256 of `text` in normal form and `type`, `chars` hex digits."
        msg = f"{type}\x00{normal_form(text)}".encode("utf-8", "surrogatepass")
        return f"[{type}:{hmac.new(self.derive('hash'), msg, hashlib.sha256).hexdigest()[:chars]}]"


def load_key(path) -> Key:
    "The Key in file `path` (its bytes, outer whitespace left out); KeyFileError naming the file otherwise."
    p = Path(path)
    try: raw = p.read_bytes()
    except FileNotFoundError: raise KeyFileError(f"--key-file {p}: no such file (seq2seq-reidentify --new-key FILE writes one)") from None
    except IsADirectoryError: raise KeyFileError(f"--key-file {p}: is a folder, not a key file") from None
    except OSError as e: raise KeyFileError(f"--key-file {p}: cannot be read ({e.strerror})") from None
    return Key(raw.strip(), str(p))


def new_key_file(path) -> Path:
    "Write a new random key (32 bytes, as 64 hex digits) to `path`, readable by its owner only; never overwrites."
    p = Path(path)
    try: fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError: raise KeyFileError(f"--new-key {p}: the file exists; a key is never overwritten") from None
    with os.fdopen(fd, "w") as f: f.write(secrets.token_hex(32) + "\n")
    return p
