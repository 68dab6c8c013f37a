"""The `encrypt` operator: a span becomes `[ENC:TYPE:...]`, its text under authenticated encryption, so that
`seq2seq-reidentify` with the same key file restores the original note byte for byte.

AES-SIV (RFC 5297, from the `cryptography` package) with a 512-bit sub-key of the key file and the
span's type as associated data: deterministic (the same string and type give the same token in every
note and run, so tokens link mentions as pseudonyms do, and equal strings are visible as equal),
authenticated (a token that was altered, moved to another type or made with another key does not
decrypt: `DecryptError`). The ciphertext is written in base32 (letters and digits 2-7, no padding), so
a token is one word to any search. A note whose own text already holds something shaped like a
token is refused, so that restoring can never mistake it for one.
"""
import base64
import re
from typing import List, Tuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from ..errors import UserError
from .keys import Key

__all__ = ["TOKEN_RE", "DecryptError", "encrypt_span", "decrypt_text", "check_plain"]

TOKEN_RE = re.compile(r"\[ENC:([^\]\s:]+(?::[^\]\s:]+)?):([A-Z2-7]+)\]")


class DecryptError(UserError):
    "A token does not decrypt with this key (another key, or the text was changed)."


def _cipher(key: Key) -> AESSIV:
    "The AES-SIV cipher of `key`'s encryption sub-key."
    return AESSIV(key.derive("encrypt", 64))


def encrypt_span(key: Key, type: str, text: str) -> str:
    "The token of `text` (a span of tag `type`)."
    ct = _cipher(key).encrypt(text.encode("utf-8", "surrogatepass"), [type.encode()])
    return f"[ENC:{type}:{base64.b32encode(ct).decode().rstrip('=')}]"


def check_plain(text: str, where: str) -> None:
    "Refuse a text that already holds a token-shaped string (restoring it would be ambiguous)."
    m = TOKEN_RE.search(text)
    if m: raise UserError(f"{where}: the text already holds {m[0][:40]!r} at {m.start()}, shaped like an encrypted "
                          "span; --redact encrypt cannot be undone unambiguously there")


def decrypt_text(key: Key, text: str, where: str = "text") -> Tuple[str, int]:
    "`text` with every token decrypted, and how many there were; DecryptError naming `where` and the offset."
    out: List[str] = []
    pos, n, cipher = 0, 0, _cipher(key)
    for m in TOKEN_RE.finditer(text):
        b32 = m[2] + "=" * (-len(m[2]) % 8)
        try: plain = cipher.decrypt(base64.b32decode(b32), [m[1].encode()])
        except (InvalidTag, ValueError):
            raise DecryptError(f"{where}: the encrypted span at offset {m.start()} does not decrypt with --key-file "
                               f"{key.source} (another key, or the text was changed)") from None
        out += [text[pos:m.start()], plain.decode("utf-8", "surrogatepass")]
        pos, n = m.end(), n + 1
    return "".join(out + [text[pos:]]), n
