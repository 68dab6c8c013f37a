"""De-identify a note given its PHI spans: one operator per span, as `--redact MODE` or a policy says.

Operators (`policy.OPERATORS`):
- `mask`: every character of a span becomes the mask character (line breaks kept), so the text keeps
  its length and every offset stays valid.
- `type`: `[TYPE]`.
- `surrogate`: an invented value of the same type in the note's language (`deid.surrogates`: Faker
  locales, names of the same shape, format-preserving IDs, dates shifted by one offset per note or per
  key, ages kept up to 89).
- `hash`: `[TYPE:hex]`, keyed HMAC-SHA256 (`deid.keys`); the same string and type give the same hash
  in every note and run.
- `encrypt`: `[ENC:TYPE:...]`, AES-SIV under the key (`deid.crypto`); `seq2seq-reidentify` with the key
  restores the note byte for byte.
- `keep`: left as it is.

`redact(text, spans, cfg, doc_id)` returns the redacted text; `redact_spans` also returns what replaced
each span (the audit trail of predictions.jsonl). Text outside the spans is copied as it is, so a
leading BOM, line endings and every other byte stay.
"""
import re
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

from ..config import ConfigError, check, option
from ..errors import UserError
from .dates import shift_date
from .keys import Key, load_key
from .locales import REDACT_LANGS
from .policy import OPERATORS, Policy, load_policy
from .surrogates import Surrogates

__all__ = ["REDACT_MODES", "OPERATORS", "RedactConfig", "RedactError", "Redaction", "redact", "redact_spans",
           "Surrogates", "shift_date"]

REDACT_MODES = ("none", "mask", "type", "surrogate", "hash", "encrypt")
KEYED = ("hash", "encrypt")


class RedactError(UserError):
    "A redaction option is wrong (mode, mask character), or a note cannot be redacted as asked."


@dataclass
class RedactConfig:
    """How predicted spans are removed from the text (see the module docstring).

    A caller passes a policy as `policy=load_policy(FILE)` (or `Policy({...})`) or `policy_file=FILE`,
    and a key as `key=load_key(FILE)` or `key_file=FILE`; `mode` is the operator of every type the
    policy does not name. `lang` None means English here; the document job uses the model's language.
    """
    mode: str = option("none", "de-identified copies: mask (characters), type ([TYPE]), surrogate (invented values "
                       "in the note's language, seeded by --seed, or by --key-file across notes), hash ([TYPE:keyed "
                       "hash], needs --key-file) or encrypt (undone by seq2seq-reidentify, needs --key-file)",
                       choices=REDACT_MODES, flag="--redact")
    mask_char: str = option("*", "character written by mask (and for a date that cannot be read)")
    seed: int = option(0, cli=False)
    max_shift_days: int = option(365, "dates move by 1..N days, forward or back, one shift per note (per key with "
                                      "--key-file)")
    lang: Optional[str] = option(None, "language of surrogates and dates, one of " + ", ".join(REDACT_LANGS)
                                 + " (None: the model's)")
    key_file: Optional[str] = option(None, "secret key file: the same surrogate for the same string and type in "
                                           "every note and run; needed by hash and encrypt (never printed)",
                                     metavar="FILE")
    policy_file: Optional[str] = option(None, "YAML/JSON file with one 'TYPE: operator' line a type (mask, type, "
                                              "surrogate, hash, encrypt, keep); --redact gives the rest",
                                        flag="--redact-policy", metavar="FILE")
    max_age: int = option(89, "surrogate keeps ages up to this and writes older ones as the language's cap (90+)")
    per_note_shift: bool = option(False, "with --key-file: draw the date shift per note instead of once per key")
    key: Optional[Key] = field(default=None, repr=False, metadata=dict(cli=False))
    policy: Optional[Policy] = option(None, cli=False)

    def __post_init__(self):
        check([(self.mode in REDACT_MODES, f"{{}} {self.mode!r}: choose one of {', '.join(REDACT_MODES)}", "mode"),
               (isinstance(self.mask_char, str) and len(self.mask_char) == 1 and self.mask_char not in "\r\n",
                f"{{}} {self.mask_char!r}: give exactly one character (not a line break)", "mask_char"),
               (isinstance(self.max_shift_days, int) and self.max_shift_days >= 1,
                f"{{}} must be >= 1, got {self.max_shift_days!r}", "max_shift_days"),
               (self.lang is None or self.lang in REDACT_LANGS,
                f"{{}} {self.lang!r}: redaction knows {', '.join(REDACT_LANGS)}", "lang")])
        if self.key is None and self.key_file: self.key = load_key(self.key_file)
        if self.policy is None and self.policy_file: self.policy = load_policy(self.policy_file)
        need = sorted(op for op in self.operators() if op in KEYED)
        if need and self.key is None:
            raise ConfigError(f"{{}} {need[0]} needs {{}} (a secret you keep; seq2seq-reidentify --new-key FILE "
                              "writes one)", "mode" if self.mode in KEYED else "policy_file", "key_file")

    @property
    def active(self) -> bool:
        "True when something is redacted (a mode other than none, or a policy)."
        return self.mode != "none" or self.policy is not None

    def operator(self, type: str) -> str:
        "The operator of tag `type`: the policy's, else the mode's."
        fallback = self.mode if self.mode != "none" else "surrogate"
        return self.policy.operator(type, fallback) if self.policy is not None else fallback

    def operators(self) -> set:
        "Every operator this config can use."
        ops = {self.mode} - {"none"}
        if self.policy is not None: ops |= self.policy.operators() | ({"surrogate"} if not ops else set())
        return ops


@dataclass
class Redaction:
    "A redacted text, what replaced each span (in the order of the spans by start) and each span's operator."
    text: str
    replacements: List[str]
    operators: List[str]


def _avoid(text: str, spans: Sequence) -> List[str]:
    "What no surrogate may hold: every span's string, and each word of a name."
    res = [text[s.start:s.end] for s in spans]
    res += [w for s in spans if s.type.startswith("NAME") for w in re.findall(r"\w{3,}", text[s.start:s.end])]
    return res


def redact_spans(text: str, spans: Sequence, cfg: RedactConfig, doc_id: str = "") -> Redaction:
    """`text` with every span of `spans` (objects with start, end, type; not overlapping) replaced by its
    operator (see the module docstring), and the replacements; with nothing to redact, `text` as it is."""
    spans = sorted(spans, key=lambda s: s.start)
    if not cfg.active: return Redaction(text, [text[s.start:s.end] for s in spans], ["keep"] * len(spans))
    ops = [cfg.operator(s.type) for s in spans]
    if "encrypt" in ops:
        from .crypto import check_plain
        check_plain(text, f"note {doc_id!r}")
    sur = None
    if "surrogate" in ops:
        sur = Surrogates(doc_id, cfg.seed, cfg.max_shift_days, lang=cfg.lang or "en", key=cfg.key, max_age=cfg.max_age,
                         per_note_shift=cfg.per_note_shift, mask_char=cfg.mask_char, avoid=_avoid(text, spans),
                         dates=[text[s.start:s.end] for s, op in zip(spans, ops) if op == "surrogate" and s.type == "DATE"])
    out, repl, pos = [], [], 0
    for sp, op in zip(spans, ops):
        if sp.start < pos: raise ValueError(f"overlapping spans at {sp.start} in document {doc_id!r}")
        new = _apply(op, sp.type, text[sp.start:sp.end], cfg, sur)
        out += [text[pos:sp.start], new]
        repl.append(new)
        pos = sp.end
    return Redaction("".join(out + [text[pos:]]), repl, ops)


def _apply(op: str, type: str, s: str, cfg: RedactConfig, sur: Optional[Surrogates]) -> str:
    "What operator `op` writes in place of `s`, a span of tag `type`."
    if op == "mask": return re.sub(r"[^\r\n]", cfg.mask_char, s)
    if op == "type": return f"[{type}]"
    if op == "surrogate": return sur.value(type, s)
    if op == "hash": return cfg.key.hash(type, s)
    if op == "encrypt":
        from .crypto import encrypt_span
        return encrypt_span(cfg.key, type, s)
    return s


def redact(text: str, spans: Sequence, cfg: RedactConfig, doc_id: str = "") -> str:
    """`text` with every span of `spans` (objects with start, end, type; not overlapping) replaced as
    `cfg` says; `mode="none"` without a policy returns `text` unchanged."""
    return redact_spans(text, spans, cfg, doc_id).text
