"""Undo `--redact encrypt`: every `[ENC:TYPE:...]` token of the redacted copies decrypted with the key file.

`reidentify(cfg)` reads a redacted `.txt` file or a folder of them (`OUT/redacted/` of seq2seq-predict),
decrypts every token of every file first (a token that does not decrypt with this key is an error
naming the file and offset, and nothing is written), then writes each restored note to `cfg.out`
under its own name, atomically. Bytes outside the tokens are copied as they are (a BOM, line
endings), so a note whose every span was encrypted comes back byte for byte; spans that other
operators replaced (surrogates, hashes, masks) stay as they are: they cannot be undone.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

from ..config import option
from ..errors import UserError
from ..utils import atomic_write
from .crypto import decrypt_text
from .keys import load_key

__all__ = ["ReidentifyConfig", "ReidentifyError", "reidentify"]


class ReidentifyError(UserError):
    "The input or output of seq2seq-reidentify is wrong."


@dataclass
class ReidentifyConfig:
    "What seq2seq-reidentify restores, with which key, and where it writes."
    key_file: Optional[str] = option(None, "the key file the copies were encrypted with (--redact encrypt --key-file FILE)",
                           metavar="FILE")
    input: Optional[str] = option(None, "a redacted .txt file or a folder of them (seq2seq-predict's OUT/redacted)", metavar="PATH")
    out: Optional[str] = option(None, "folder receiving the restored notes, one DOC.txt each", metavar="DIR")
    overwrite: bool = option(False, "replace notes already in --out")


def _inputs(path: Path) -> List[Path]:
    "The .txt files to restore: `path` itself, or those of folder `path`, sorted."
    if path.is_file(): return [path]
    if not path.is_dir(): raise ReidentifyError(f"--input {path}: no such file or folder")
    res = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() == ".txt" and not f.name.startswith("."))
    if not res: raise ReidentifyError(f"--input {path}: the folder holds no .txt file")
    return res


def reidentify(cfg: ReidentifyConfig, log: Callable[[str], None] = print) -> Dict[str, int]:
    "Restore the notes of `cfg.input` into `cfg.out` (see the module docstring); returns files and tokens restored."
    if not (cfg.key_file and cfg.input and cfg.out): raise ReidentifyError("give --key-file, --input and --out")
    key = load_key(cfg.key_file)
    files, out = _inputs(Path(cfg.input)), Path(cfg.out)
    if out.is_file(): raise ReidentifyError(f"--out {out}: is a file; give a folder")
    if out.resolve() in {f.parent.resolve() for f in files}: raise ReidentifyError(f"--out {out}: is the input folder")
    restored, tokens = {}, 0
    for f in files:
        try: text = f.read_bytes().decode("utf-8")
        except UnicodeDecodeError as e: raise ReidentifyError(f"{f}: not UTF-8 (byte {e.start})") from None
        restored[f.name], n = decrypt_text(key, text, str(f))
        tokens += n
    taken = [out / n for n in restored if (out / n).exists()]
    if taken and not cfg.overwrite: raise ReidentifyError(f"--out: {taken[0]} exists; pass --overwrite to replace it")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in restored.items():
        atomic_write(out / name, lambda tmp, t=text: tmp.write_bytes(t.encode("utf-8")))
    log(f"{len(restored)} note(s), {tokens} encrypted span(s) restored -> {out}")
    return dict(files=len(restored), tokens=tokens)
