"""A set of output files put in place as one step, and the manifest that says which files are ours.

A command that writes several files (predictions.jsonl, brat/, redacted/, metrics.json, a review
page) writes each one under a temporary name beside its target (`.NAME-PID-XXXX.tmp`, in the
target's own folder, so a subfolder that is a symbolic link to another disk works), and only when
all are written puts them in place: each existing target is moved aside, the new file renamed onto
it, and if any step fails (an error, Ctrl-C, SIGTERM) every file already replaced gets its old
content back. So a run leaves all of its outputs or none (after `kill -9` or a power cut in the
middle of the renames, the manifest still lists both versions and the next `--overwrite` run
replaces them).

The manifest, `OUT/.seq2seq-manifest.json`, lists every file this tool wrote under the output
folder with the SHA-256 of what it wrote. `--overwrite` replaces a file only when it is listed with
its current content (it was written by this tool and is unchanged); any other existing file is
never replaced: the run is refused before any work, naming the file. Files of the previous run
that the new one does not write again are removed the same way (listed and unchanged), so the
folder holds exactly the new run's outputs besides whatever else the user keeps there.
"""
import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional

from ..errors import UserError
from ..utils import remove_stale_temps

__all__ = ["MANIFEST", "OutputSetError", "OutputSet", "read_manifest", "digest"]

MANIFEST = ".seq2seq-manifest.json"
_TOOL = "seq2seq-annotate"


class OutputSetError(UserError):
    "An output that would replace a file this tool did not write, or a manifest that cannot be read."


def digest(path: Path) -> str:
    "SHA-256 of a file's bytes, in hex."
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""): h.update(block)
    return h.hexdigest()


def read_manifest(root: Path) -> Dict[str, List[str]]:
    "The manifest of output folder `root`: path relative to it -> the digests it may have ({} when none)."
    path = Path(root) / MANIFEST
    if not path.is_file(): return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        files = doc["files"] if doc.get("tool") == _TOOL else None
        if isinstance(files, dict) and all(isinstance(v, list) for v in files.values()): return files
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError, KeyError):
        pass
    raise OutputSetError(f"{path}: not a manifest of this tool; remove it if you know which files there are outputs")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_beside(target: Path, tag: str = "") -> Path:
    "An empty temporary file in `target`'s folder, named like `utils.temp_beside`'s (cleaned after kill -9)."
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-{os.getpid()}-", suffix=f"{tag}.tmp")
    os.close(fd)
    return Path(tmp)


class OutputSet:
    """Files to write, each under a temporary name beside its target, put in place together by `commit`.

    root: the output folder whose manifest says which files there are ours; None when the output is
        one file the user named (nothing else is written there, so there is no manifest).
    overwrite: existing targets may be replaced (only those listed in the manifest, unchanged);
        without it any existing target is refused.
    Use as a context manager: leaving it by an exception removes every temporary file and every
    folder it created.
    """

    def __init__(self, root: Optional[Path], overwrite: bool = False, warn: Callable[[str], None] = print):
        self.root, self.overwrite, self.warn = (Path(root) if root is not None else None), overwrite, warn
        self.old = read_manifest(self.root) if self.root is not None else {}
        self.temps: Dict[Path, Path] = {}
        self.made: List[Path] = []

    # -- before any work ------------------------------------------------------------------------
    def _rel(self, target: Path) -> Optional[str]:
        "`target` relative to the root, as the manifest writes it (None outside the root)."
        if self.root is None: return None
        try: return Path(os.path.abspath(target)).relative_to(os.path.abspath(self.root)).as_posix()
        except ValueError: return None

    def ours(self, target: Path) -> bool:
        "True when `target` is listed in the manifest with its current content."
        rel = self._rel(target)
        return rel in self.old and target.is_file() and digest(target) in self.old[rel]

    def check(self, targets: Iterable[Path]) -> None:
        """Refuse, before any work, a target that exists when it may not be replaced: any existing one
        without `overwrite`; with it, one that is not ours (a folder, or a file this tool did not
        write or that changed since). A target named by the user (outside the root) may be replaced."""
        for t in map(Path, targets):
            if not (t.exists() or t.is_symlink()): continue
            if t.is_dir(): raise OutputSetError(f"--out: {t} is a folder; an output file goes there")
            if not self.overwrite: raise OutputSetError(f"--out: {t}: the file exists; pass --overwrite to replace it")
            if self._rel(t) is not None and not self.ours(t):
                raise OutputSetError(f"--overwrite: {t} was not written by this tool or has changed since (it is not in "
                                     f"{self.root / MANIFEST} as it is now); it is never replaced: move it away or "
                                     "choose another --out")

    # -- writing --------------------------------------------------------------------------------
    def _mkdirs(self, folder: Path):
        "Create `folder` and its missing parents, remembering them (removed again on failure)."
        missing = []
        while not folder.exists() and not folder.is_symlink():
            missing.append(folder)
            folder = folder.parent
        for d in reversed(missing):
            d.mkdir()
            self.made.append(d)

    def path(self, target) -> Path:
        "The temporary file to write `target`'s new content to (its folder is created if needed)."
        target = Path(target)
        if target in self.temps: raise ValueError(f"{target}: written twice in one output set")
        self._mkdirs(target.parent)
        remove_stale_temps(target)
        self.temps[target] = _temp_beside(target)
        return self.temps[target]

    def write_text(self, target, text: str) -> None:
        "Write `text` (UTF-8, line ends as given) as the new content of `target`."
        with open(self.path(target), "w", encoding="utf-8", newline="") as f: f.write(text)

    # -- putting it in place --------------------------------------------------------------------
    def _write_manifest(self, files: Dict[str, List[str]]):
        "Write the manifest atomically (its own temporary file renamed onto it)."
        path = self.root / MANIFEST
        tmp = _temp_beside(path)
        try:
            tmp.write_text(json.dumps(dict(tool=_TOOL, files=files), indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError): tmp.unlink()

    def commit(self) -> List[Path]:
        """Put every new file in place; on any failure put the old ones back and re-raise. Then remove
        the previous run's files not written again (ours and unchanged), and write the manifest."""
        mode = 0o666 & ~_umask()
        new = {}
        for target, tmp in self.temps.items():
            os.chmod(tmp, mode)
            rel = self._rel(target)
            if rel is not None: new[rel] = [digest(tmp)]
        if self.root is not None:   # while the swap runs, either version of a file is ours
            self._write_manifest({k: sorted(set(self.old.get(k, [])) | set(new.get(k, []))) for k in {*self.old, *new}})
        done, current = [], None
        try:
            for target, tmp in self.temps.items():
                current = (target, _temp_beside(target, ".old") if target.exists() or target.is_symlink() else None)
                if current[1] is not None: os.replace(target, current[1])
                os.replace(tmp, target)
                done.append(current)
                current = None
        except BaseException:
            for target, backup in ([current] if current else []) + done[::-1]:
                if backup is not None: os.replace(backup, target)
                else:
                    with contextlib.suppress(FileNotFoundError): target.unlink()
            if self.root is not None:
                if self.old: self._write_manifest(self.old)
                else:
                    with contextlib.suppress(FileNotFoundError): (self.root / MANIFEST).unlink()
            raise
        for _, backup in done:
            if backup is not None: backup.unlink()
        self._remove_stale(set(new))
        if self.root is not None: self._write_manifest(new)
        self.temps = {}
        return [t for t, _ in done]

    def _remove_stale(self, kept: set):
        "Remove the files the previous run wrote that this one did not (ours and unchanged only)."
        for rel in sorted(set(self.old) - kept):
            p = self.root / rel
            if self.ours(p): p.unlink()
            elif p.exists(): self.warn(f"{p}: an output of an earlier run, changed since; left in place")

    def abort(self):
        "Remove every temporary file and every folder this set created (if empty)."
        for tmp in self.temps.values():
            with contextlib.suppress(FileNotFoundError): tmp.unlink()
        self.temps = {}
        for d in reversed(self.made):
            with contextlib.suppress(OSError): d.rmdir()
        self.made = []

    def __enter__(self): return self

    def __exit__(self, kind, exc, tb):
        if kind is not None or self.temps: self.abort()
        return False
