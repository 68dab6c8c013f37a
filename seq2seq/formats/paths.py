"""Outputs never touch inputs: the one check every command that writes runs before it starts.

An output path that *is* an input (the same file or folder, through any symbolic or hard link),
lies *inside* an input folder or *contains* an input is refused with one line naming both flags,
before anything is read or written: `--input corpus/test/brat --out corpus/test` would otherwise
put predictions where the gold annotations are.
"""
import os
from pathlib import Path
from typing import Iterable, Optional, Tuple, Union

from ..errors import UserError

__all__ = ["PathClashError", "check_apart", "clash"]

PathLike = Union[str, os.PathLike]
Named = Iterable[Tuple[str, Optional[PathLike]]]  # (flag, path) pairs; a None path is skipped


class PathClashError(UserError):
    "An output path that is, contains or lies inside an input path."


def _real(p: PathLike) -> Path:
    "`p` with every symbolic link and `..` resolved (also where the end of it does not exist yet)."
    return Path(os.path.realpath(os.path.abspath(os.fspath(p))))


def _same(a: Path, b: Path) -> bool:
    "Both exist and are the same file or folder (a hard link included)."
    try: return os.path.samefile(a, b)
    except OSError: return False


def clash(out: PathLike, inp: PathLike) -> Optional[str]:
    "How output `out` touches input `inp`: 'is', 'lies inside', 'contains', or None when apart."
    o, i = _real(out), _real(inp)
    if o == i or _same(out, inp): return "is"
    if o.is_relative_to(i): return "lies inside"
    if i.is_relative_to(o): return "contains"
    return None


def check_apart(outputs: Named, inputs: Named) -> None:
    """Refuse (PathClashError) the first output that is, lies inside or contains an input.

    outputs, inputs: `(flag, path)` pairs such as `("--out", "out/")`, `("--input", "notes/")`; an
    output may be a subfolder the command writes into (`out/brat`, a symbolic link to somewhere else
    is followed)."""
    inputs = [(f, p) for f, p in inputs if p is not None and str(p) != ""]
    for oflag, out in outputs:
        if out is None or str(out) == "": continue
        for iflag, inp in inputs:
            how = clash(out, inp)
            if how:
                where = "" if _real(out) == Path(os.path.abspath(out)) else f" (= {_real(out)})"
                raise PathClashError(f"{oflag} {out}{where} {how} the input {iflag} {inp}: outputs never go where "
                                     "inputs are; choose another output path")
