"""The safe model file: weights as safetensors, everything else as JSON, nothing unpickled on load.

One file, `model.safetensors`: its tensors are the model's complete `state_dict` (parameters and
persistent buffers; the tied output weight is stored once), and its header's metadata holds one
JSON document under the key `seq2seq`: the format version, `meta` (lang, src, tgt, task), the
`ModelConfig`, the source and target vocabularies (`itos`) and the tokenizer settings. Loading
parses that JSON, rebuilds the model with `registry.build_model` and copies the tensors in: no
Python object is ever unpickled, so a downloaded file cannot run code. This module reads and
writes models only; `training.learner.load_seq2seq` puts a loaded one in a Learner. `export.pkl`
(a pickle of the whole fastai Learner) is still written for `load_learner` users; loading it
needs `trust=True` because unpickling can run any code the file's author chose.
"""
import json
import sys
from pathlib import Path

from ..errors import ModelFileError
from ..utils import atomic_write
from .config import ModelConfig
from .registry import build_model

__all__ = ["MODEL_FILE", "SAFE_FORMAT", "ModelFileError", "save_safe", "load_safe", "is_pickle_file",
           "TRUST_WARNING", "warn_trust", "safe_path"]

MODEL_FILE = "model.safetensors"
SAFE_FORMAT = 1  # version of the JSON document below; bump when older files can no longer be read
_KEY = "seq2seq"
TRUST_WARNING = "warning: loading a pickle-based model file; unpickling runs any code it holds (trusted source only)"


def save_safe(model, src_itos, tgt_itos, path) -> Path:
    """Write `model` (a `Seq2SeqRNN` with `.meta`) and its vocabularies to `path`, atomically."""
    from safetensors.torch import save_model
    doc = dict(format=SAFE_FORMAT, meta={k: v for k, v in model.meta.items() if k != "config"},
               config=model.cfg.to_dict(), src_itos=list(src_itos), tgt_itos=list(tgt_itos),
               tokenizer=dict(name="MarkerTokenizer", lang=model.meta["lang"]),
               ids=dict(bos=model.bos_idx, eos=model.eos_idx, pad=model.pad_idx))
    meta = {_KEY: json.dumps(doc, ensure_ascii=False)}
    return atomic_write(Path(path), lambda p: save_model(model, str(p), metadata=meta))


def is_pickle_file(path: Path) -> bool:
    """True for a torch zip or a raw pickle (what `torch.load`/`load_learner` would unpickle).

    A safetensors file (an 8-byte little-endian header length, then the header's JSON) is never
    one, even when its length's first byte happens to be a pickle's 0x80."""
    with open(path, "rb") as f: head = f.read(9)
    if head[8:9] == b"{" and 0 < int.from_bytes(head[:8], "little") <= Path(path).stat().st_size - 8:
        return False
    return head[:4] == b"PK\x03\x04" or head[:1] == b"\x80"


def _read_doc(path: Path) -> dict:
    "The JSON document of a safe model file, checked; ModelFileError if it is not one of ours."
    from safetensors import SafetensorError, safe_open
    try:
        with safe_open(str(path), framework="pt") as f: md = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelFileError(f"{path}: not a model exported by this tool ({e})") from e
    if _KEY not in md: raise ModelFileError(f"{path}: a safetensors file, but not a model of this tool")
    try:
        doc = json.loads(md[_KEY])
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{path}: its model description is not valid JSON ({e})") from e
    if not isinstance(doc, dict) or doc.get("format") != SAFE_FORMAT:
        raise ModelFileError(f"{path}: model file format {doc.get('format') if isinstance(doc, dict) else '?'}; "
                             f"this version reads format {SAFE_FORMAT}")
    missing = [k for k in ("meta", "config", "src_itos", "tgt_itos", "ids") if k not in doc]
    if missing: raise ModelFileError(f"{path}: model description lacks {', '.join(missing)}")
    return doc


LEGACY = dict(char_dim=0, ctx_skip=False)  # model options a file written before them lacks: what it had


def _config(doc: dict, path: Path) -> ModelConfig:
    """The ModelConfig of a description; unknown fields are a ModelFileError, not a TypeError.
    Options added since a file was written take the value that matches its weights (`LEGACY`)."""
    try:
        return ModelConfig(**{**LEGACY, **doc["config"]})
    except TypeError as e:
        raise ModelFileError(f"{path}: model config not understood by this version ({e})") from e


def load_safe(path):
    """Read a file written by `save_safe`: `(model, doc)`, the model (on the CPU, in eval mode) with
    its `.meta`, and the file's JSON description (`src_itos`, `tgt_itos`, `config`, ...).

    Reads JSON and raw tensors only. Raises `ModelFileError` for anything else.
    """
    from safetensors.torch import load_model
    path = Path(path)
    doc = _read_doc(path)
    ids = doc["ids"]
    model = build_model(_config(doc, path), doc["src_itos"], doc["tgt_itos"])
    if (model.bos_idx, model.eos_idx, model.pad_idx) != (ids["bos"], ids["eos"], ids["pad"]):
        raise ModelFileError(f"{path}: its special-token ids {ids} do not match its target vocabulary")
    try:
        load_model(model, str(path), strict=True, device="cpu")
    except (RuntimeError, ValueError, KeyError) as e:  # shape or name mismatch with the description
        raise ModelFileError(f"{path}: its weights do not fit its description ({e})") from e
    model.meta = dict(doc["meta"], config=doc["config"])
    return model.eval(), doc


def warn_trust() -> None:
    "The one-line warning printed (stderr) when a pickle-based model file is loaded with trust."
    print(TRUST_WARNING, file=sys.stderr)


def safe_path(path: Path) -> Path:
    "The safe model file `path` stands for: itself, or `model.safetensors` in a folder."
    return path / MODEL_FILE if path.is_dir() else path

