"""The redaction policy: which operator each PHI type gets (`--redact-policy FILE`, YAML or JSON).

    # policy.yaml: one line a type; a category (NAME) covers its subtypes (NAME:PATIENT, NAME:DOCTOR)
    default: surrogate        # types not listed (absent: --redact's mode, else surrogate)
    NAME: encrypt
    ID:MEDICALRECORD: hash
    AGE: keep
    PROFESSION: mask

A type's own line wins over its category's, which wins over `default`. Operators (`OPERATORS`):
`mask` (every character becomes the mask character), `type` (`[TYPE]`), `surrogate` (an invented value,
`deid.surrogates`), `hash` (keyed HMAC-SHA256: `[TYPE:hex]`), `encrypt` (`[ENC:TYPE:...]`, undone by
`seq2seq-reidentify`), `keep` (left as it is). An unknown operator, a key that is no tag type, a
duplicate key or a file that is not a mapping is an error naming the file and line; a type that the
model cannot predict and that is no i2b2 type is one too (`Policy.check_types`).
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Optional

from ..errors import UserError
from ..text.tags import TagError, open_marker

__all__ = ["OPERATORS", "I2B2_TYPES", "PolicyError", "Policy", "load_policy"]

OPERATORS = ("mask", "type", "surrogate", "hash", "encrypt", "keep")
# the i2b2-2014 de-identification types (with MEDDOCAN's NAME:OTHER) and their categories
I2B2_TYPES = frozenset(
    "NAME:PATIENT NAME:DOCTOR NAME:USERNAME NAME:OTHER PROFESSION LOCATION:ROOM LOCATION:DEPARTMENT "
    "LOCATION:HOSPITAL LOCATION:ORGANIZATION LOCATION:STREET LOCATION:CITY LOCATION:STATE LOCATION:COUNTRY "
    "LOCATION:ZIP LOCATION:OTHER AGE DATE CONTACT:PHONE CONTACT:FAX CONTACT:EMAIL CONTACT:URL CONTACT:IPADDR "
    "ID:SSN ID:MEDICALRECORD ID:HEALTHPLAN ID:ACCOUNT ID:LICENSE ID:VEHICLE ID:DEVICE ID:BIOID ID:IDNUM".split())


class PolicyError(UserError):
    "A policy file that cannot be used; the message names the file and line."


@dataclass(frozen=True)
class Policy:
    """Operators by type or category, and the default for the rest (None: the caller's fallback).

    lines: the line of each key in `source` (for messages)."""
    rules: Dict[str, str] = field(default_factory=dict)
    default: Optional[str] = None
    source: str = "policy"
    lines: Dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        for k, op in list(self.rules.items()) + ([("default", self.default)] if self.default else []):
            if op not in OPERATORS:
                raise PolicyError(f"{self._where(k)}: unknown operator {op!r} for {k} (choose one of {', '.join(OPERATORS)})")
            if k != "default":
                try: open_marker(k)
                except TagError as e: raise PolicyError(f"{self._where(k)}: {k!r} is no tag type ({e})") from None

    def _where(self, key: str) -> str:
        "FILE:LINE of `key`, or the source alone."
        return f"{self.source}:{self.lines[key]}" if key in self.lines else self.source

    def operator(self, type: str, fallback: str = "surrogate") -> str:
        "The operator of tag `type`: its own rule, its category's, the default, else `fallback`."
        return self.rules.get(type) or self.rules.get(type.split(":")[0]) or self.default or fallback

    def operators(self) -> set:
        "Every operator the policy names."
        return set(self.rules.values()) | ({self.default} if self.default else set())

    def check_types(self, known: Iterable[str]) -> None:
        "PolicyError naming the file and line of the first key that is neither a known type nor a category of one."
        known = set(known) | I2B2_TYPES
        cats = {t.split(":")[0] for t in known}
        for k in self.rules:
            if k not in known and k not in cats:
                raise PolicyError(f"{self._where(k)}: unknown type {k!r} (the model's and the i2b2 types: "
                                  f"{', '.join(sorted(cats))} and their subtypes)")


def load_policy(path) -> Policy:
    "The Policy of a YAML or JSON file (see the module docstring); PolicyError naming the file and line."
    import yaml  # PyYAML, which fastai needs anyway
    p = Path(path)
    try: text = p.read_text(encoding="utf-8")
    except FileNotFoundError: raise PolicyError(f"--redact-policy {p}: no such file") from None
    except (OSError, UnicodeDecodeError) as e: raise PolicyError(f"--redact-policy {p}: cannot be read ({e})") from None
    try: node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        raise PolicyError(f"{p}{'' if line is None else f':{line + 1}'}: not valid YAML or JSON") from None
    if node is None: raise PolicyError(f"{p}: the file is empty; write one `TYPE: operator` line a type")
    if not isinstance(node, yaml.MappingNode): raise PolicyError(f"{p}:{node.start_mark.line + 1}: expected `TYPE: operator` lines")
    rules, lines, default = {}, {}, None
    for k, v in node.value:
        line = k.start_mark.line + 1
        if not isinstance(k, yaml.ScalarNode) or not isinstance(v, yaml.ScalarNode):
            raise PolicyError(f"{p}:{line}: expected `TYPE: operator`, one operator a type")
        if k.value in lines or (k.value == "default" and default is not None):
            raise PolicyError(f"{p}:{line}: {k.value} is given twice")
        if k.value == "default": default = v.value
        else: rules[k.value] = v.value
        lines[k.value] = line
    return Policy(rules, default, str(p), lines)
