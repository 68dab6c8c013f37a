"""CSV files in and out so that every cell survives: delimiter, exact headers, NUL bytes, quoting.

pandas' C parser cuts a cell at a NUL byte and renames duplicate headers (`a.1`); its writer
leaves a cell holding a lone `\\r` unquoted, which readers then split into two rows. So headers
are read here with the `csv` module (kept exactly, duplicates refused), a first pass finds NUL
bytes (reported with the row and column) and counts the rows, and output is written with every
cell quoted (`csv.QUOTE_ALL`), so a `\\r`, `\\n`, quote or delimiter inside a cell reads back as it was.
"""
import csv
from pathlib import Path
from typing import List, Optional, Sequence

from ..errors import DataError

__all__ = ["SEPARATORS", "QUOTING", "pick_sep", "read_header", "check_header", "scan_rows", "sep_name"]

SEPARATORS = (",", ";", "\t", "|")
QUOTING = csv.QUOTE_ALL  # what our CSV writers pass to `to_csv(quoting=...)`
csv.field_size_limit(2 ** 31 - 1)  # a whole clinical note in one cell is fine


def sep_name(sep: str) -> str:
    "A delimiter as a message shows it."
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(sep, repr(sep))


def read_header(path: Path, sep: str) -> List[str]:
    "The first record of `path` split on `sep`, exactly as written ([] for an empty file)."
    with open(path, newline="", encoding="utf-8-sig") as f:
        return next(csv.reader(f, delimiter=sep), [])


def pick_sep(path: Path, want: Sequence[str], sep: Optional[str] = None) -> str:
    """The delimiter of `path`: `sep` when given, else the first of `SEPARATORS` whose header
    holds every column in `want` (a comma when none does, so the caller reports the missing column)."""
    if sep is not None:
        if len(sep) != 1: raise DataError(f"--sep {sep!r}: give one character (e.g. ',' ';' or a tab)")
        return sep
    for s in SEPARATORS:
        if all(c in read_header(path, s) for c in want): return s
    return ","


def check_header(path: Path, header: List[str], sep: str) -> None:
    "Refuse duplicate column names (pandas would rename them), naming them."
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise DataError(f"{path}: duplicate column name(s) {', '.join(map(repr, dup))} "
                        f"(read with {sep_name(sep)} as the delimiter); rename them")


def scan_rows(path: Path, sep: str) -> int:
    """Data rows in `path`; raises DataError at the first cell holding a NUL byte, naming the
    1-based data row and the column (pandas would silently cut the cell there)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f, delimiter=sep)
        header = next(rows, [])
        n = 0
        for n, row in enumerate(rows, 1):
            for j, cell in enumerate(row):
                if "\x00" in cell:
                    col = header[j] if j < len(header) else f"#{j + 1}"
                    raise DataError(f"{path}: row {n}, column {col!r}: a NUL byte (\\x00) at char "
                                    f"{cell.index(chr(0))}; remove it (it would cut the cell short)")
    return n
