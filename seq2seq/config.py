"""Options declared once: config dataclasses whose fields make the command line.

A config is a dataclass; each field is one option. `option(default, "help", ...)` declares it
with its help text (and optional choices or a command-line name of its own); `add_options`
turns a dataclass's fields into argparse options (`int`/`float`/`str` and their `Optional`
forms; a bool that defaults to False becomes `--name`, one that defaults to True `--no-name`;
a nested config adds its own fields) and `from_args` builds the config back from the parsed
namespace. Configs validate themselves in `__post_init__` and raise `ConfigError`, whose
message names the parameter; `from_args` turns it into an argparse error naming the flag.
"""
import argparse
import dataclasses
import numbers
import typing
from typing import Any, Optional

from .errors import ConfigError

__all__ = ["option", "add_options", "from_args", "flag_of", "ConfigError", "check", "is_int", "int_ge"]


def option(default: Any = dataclasses.MISSING, help: str = "", *, choices=None, flag: Optional[str] = None,
           metavar: Optional[str] = None, cli: bool = True, default_factory: Any = dataclasses.MISSING):
    """A dataclass field with what the command line needs: help text, choices, an own flag name
    (default: `--field-name`) and metavar (default: the field name), or `cli=False` to keep it
    off the command line."""
    meta = dict(help=help, choices=choices, flag=flag, metavar=metavar, cli=cli)
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def flag_of(f: dataclasses.Field) -> str:
    "The command-line flag of a config field."
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def _base_type(tp):
    "int for Optional[int], and so on; the type itself otherwise."
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return args[0] if typing.get_origin(tp) is typing.Union and len(args) == 1 else tp


def _fields(cls):
    "(field, resolved type) of a config class's command-line fields."
    hints = typing.get_type_hints(cls)
    return [(f, _base_type(hints[f.name])) for f in dataclasses.fields(cls) if f.metadata.get("cli", True)]


def add_options(parser: argparse.ArgumentParser, cls, prefix: str = "", skip=()) -> argparse.ArgumentParser:
    """Add one option per field of the config class `cls` (recursing into nested configs); the
    namespace attribute of a field is `prefix + name` (`model.hidden` for TrainConfig.model)."""
    for f, tp in _fields(cls):
        if f.name in skip: continue
        dest = prefix + f.name
        if dataclasses.is_dataclass(tp):
            add_options(parser, tp, dest + ".", skip)
            continue
        h, flag = f.metadata.get("help", ""), flag_of(f)
        if tp is bool:
            on = f.default is True
            name = flag if f.metadata.get("flag") else ("--no-" + f.name.replace("_", "-") if on else flag)
            # SUPPRESS: no "(default: ...)" in the help; an absent flag leaves the field's own default
            parser.add_argument(name, dest=dest, action="store_false" if on else "store_true",
                                default=argparse.SUPPRESS, help=f"{'turn off: ' if on else ''}{h}")
            continue
        choices = f.metadata.get("choices")
        parser.add_argument(flag, dest=dest, type=tp, choices=choices,
                            metavar=None if choices else f.metadata.get("metavar") or f.name.upper(),
                            default=None if f.default is dataclasses.MISSING else f.default, help=h)
    return parser


def _values(cls, ns: argparse.Namespace, prefix: str) -> dict:
    "Constructor arguments of `cls` from the namespace (nested configs built first)."
    kw = {}
    for f, tp in _fields(cls):
        dest = prefix + f.name
        if dataclasses.is_dataclass(tp): kw[f.name] = tp(**_values(tp, ns, dest + "."))
        elif hasattr(ns, dest): kw[f.name] = getattr(ns, dest)
    return kw


def _flags(cls, prefix: str = "") -> dict:
    "Field name -> flag, for this config and the ones nested in it."
    res = {}
    for f, tp in _fields(cls):
        if dataclasses.is_dataclass(tp): res.update(_flags(tp))
        else: res[f.name] = flag_of(f)
    return res


def from_args(cls, ns: argparse.Namespace, parser: Optional[argparse.ArgumentParser] = None, prefix: str = "",
              **extra):
    """Build the config `cls` from a namespace filled by `add_options` (with the same `prefix`;
    plus `extra` fields). A `ConfigError` becomes `parser.error` (exit 2) with flags in place of
    parameter names."""
    try:
        return cls(**_values(cls, ns, prefix), **extra)
    except ConfigError as e:
        if parser is None: raise
        parser.error(e.message(_flags(cls)))


def is_int(x) -> bool:
    "True when `x` is an integer (not a bool)."
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def int_ge(x, lo: int) -> bool:
    "True when `x` is an integer (not a bool) >= `lo`."
    return is_int(x) and x >= lo


def check(rules) -> None:
    "Raise the `ConfigError(template, *names)` of the first `(ok, template, *names)` rule that fails."
    for ok, template, *names in rules:
        if not ok: raise ConfigError(template, *names)
