"""The safe model file: weights as safetensors, everything else as JSON, nothing unpickled on load.

One file, `model.safetensors`: its tensors are the model's complete `state_dict` (parameters and
persistent buffers; the tied output weight is stored once), and its header's metadata holds one
JSON document under the key `seq2seq`: the format version, `meta` (lang, src, tgt, task), the
`ModelConfig`, the source and target vocabularies (`itos`) and the tokenizer settings. Loading
parses that JSON, rebuilds the model with `registry.build_model` and copies the tensors in: no
Python object is ever unpickled, so a downloaded file cannot run code; and before anything is built,
the description is checked against the tensors the header lists (`read_header`, `check_*`), so a
crafted file cannot make loading allocate more than a real model of its size. This module reads and
writes models only; `training.learner.load_seq2seq` puts a loaded one in a Learner. `export.pkl`
(a pickle of the whole fastai Learner) is still written for `load_learner` users; loading it
needs `trust=True` because unpickling can run any code the file's author chose.
"""
import json
import math
import sys
from pathlib import Path
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

from ..config import is_int
from ..errors import ConfigError, ModelFileError
from ..utils import atomic_write
from .config import ModelConfig
from .registry import ARCHS, TensorSpec, arch_of, build_model, implied_tensors

__all__ = ["MODEL_FILE", "SAFE_FORMAT", "ModelFileError", "save_safe", "load_safe", "is_pickle_file",
           "TRUST_WARNING", "warn_trust", "safe_path", "read_header", "StoredTensors", "check_description",
           "check_sizes", "check_vocab_rows", "check_tensors", "LIMITS", "MAX_VOCAB", "MAX_HEADER_BYTES"]

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


# ---------------------------------------------------------------- checks before anything is built
# A model file must never decide how much memory loading it takes: every size its description gives
# is checked against the tensors its header lists (shapes and dtypes, read without loading any), and
# bounded, before the model is built. Each check is one function, in the order `load_safe` runs them.

MAX_HEADER_BYTES = 64 * 2 ** 20  # the safetensors header (the tensor table + our JSON description)
HEADER_SLACK = 2 ** 20           # ... may exceed the bytes of the tensors it describes by this much
MAX_VOCAB = 2_000_000            # entries of either vocabulary
LIMITS = dict(emb_size=8192, hidden=8192, layers=16, mogrify_steps=32, sub_dim=4096, buckets=20_000_000,
              word_dim=4096, shape_dim=4096, char_dim=4096, src_words=MAX_VOCAB)  # ModelConfig fields
DTYPES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4,
          "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}  # safetensors dtype -> bytes per element
_TORCH_DTYPES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16", "int64": "I64",
                 "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}


class StoredTensors(NamedTuple):
    "The safetensors header of a file: `tensors` name -> (dtype, shape), and its string `metadata`."
    tensors: Dict[str, Tuple[str, Tuple[int, ...]]]
    metadata: Dict[str, str]


def _bad(path: Path, why: str) -> ModelFileError:
    return ModelFileError(f"{path}: not a model exported by this tool ({why})")


def read_header(path: Path) -> StoredTensors:
    """The tensor table and metadata of a safetensors file, read from its header alone (no tensor is
    loaded), checked: a header of at most `MAX_HEADER_BYTES` and not much larger than the tensors it
    describes, known dtypes, byte ranges that fit each shape and tile the rest of the file exactly (so a
    truncated file is named as one)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(9)
        if len(head) < 9: raise _bad(path, f"{size} bytes, too few for a safetensors file; truncated?")
        if head[8:9] != b"{": raise _bad(path, "not a safetensors file")
        n = int.from_bytes(head[:8], "little")
        if 8 + n > size:
            raise ModelFileError(f"{path}: truncated: {size:,} bytes, fewer than its header says ({8 + n:,}); "
                                 "download or copy it again")
        f.seek(8)
        if n > MAX_HEADER_BYTES or n > size - 8 - n + HEADER_SLACK:
            raise _bad(path, f"a header of {n:,} bytes for {size - 8 - n:,} bytes of tensors (at most "
                             f"{min(MAX_HEADER_BYTES, size - 8 - n + HEADER_SLACK):,})")
        try: header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError) as e: raise _bad(path, f"its header is not JSON: {e}") from None
    if not isinstance(header, dict): raise _bad(path, "its header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise _bad(path, "its metadata is not a map of strings")
    tensors, ranges = {}, []
    for name, t in header.items():
        ok = isinstance(t, dict) and t.get("dtype") in DTYPES and isinstance(t.get("shape"), list) \
            and all(is_int(d) and d >= 0 for d in t["shape"]) and isinstance(t.get("data_offsets"), list) \
            and len(t["data_offsets"]) == 2 and all(is_int(o) for o in t["data_offsets"])
        if not ok: raise _bad(path, f"tensor {name!r} has no valid dtype, shape and data_offsets")
        (a, b), nbytes = t["data_offsets"], math.prod(t["shape"]) * DTYPES[t["dtype"]]
        if b - a != nbytes: raise _bad(path, f"tensor {name!r}: {b - a} bytes for {t['dtype']} {t['shape']} ({nbytes})")
        tensors[name] = (t["dtype"], tuple(t["shape"]))
        ranges.append((a, b))
    end = 0
    for a, b in sorted(ranges):
        if a != end: raise _bad(path, "its tensors' byte ranges overlap or leave gaps")
        end = b
    if end != size - 8 - n:
        if end > size - 8 - n:
            raise ModelFileError(f"{path}: truncated: {size:,} bytes, its tensors need {8 + n + end:,}; "
                                 "download or copy it again")
        raise _bad(path, f"{size - 8 - n - end:,} bytes after its last tensor")
    return StoredTensors(tensors, meta)


def _vocab_rows(tensors: Dict[str, tuple]) -> int:
    "The most rows any stored tensor that holds a vocabulary has (under any architecture's names)."
    names = {n for a in ARCHS.values() for side in a.vocab_rows for n in side}
    return max((tensors[n][1][0] for n in names if n in tensors and tensors[n][1]), default=0)


def _read_doc(path: Path, stored: Optional[StoredTensors] = None) -> dict:
    """The JSON description of a safe model file, checked; ModelFileError if it is not one of ours.
    A description listing more strings than its tensors have vocabulary rows is refused unparsed."""
    stored = stored or read_header(path)
    md = stored.metadata
    if _KEY not in md: raise ModelFileError(f"{path}: a safetensors file, but not a model of this tool")
    text = md[_KEY]
    most = 2 * min(_vocab_rows(stored.tensors), MAX_VOCAB) + 10_000  # both vocabularies, the other fields
    if (text.count('"') - text.count('\\"')) // 2 > most:
        raise ModelFileError(f"{path}: its description lists more entries than its tensors have rows (at most {most:,})")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{path}: its model description is not valid JSON ({e})") from e
    if not isinstance(doc, dict) or doc.get("format") != SAFE_FORMAT:
        raise ModelFileError(f"{path}: model file format {doc.get('format') if isinstance(doc, dict) else '?'}; "
                             f"this version reads format {SAFE_FORMAT}")
    missing = [k for k in ("meta", "config", "src_itos", "tgt_itos", "ids") if k not in doc]
    if missing: raise ModelFileError(f"{path}: model description lacks {', '.join(missing)}")
    check_description(doc, path)
    return doc


def check_description(doc: dict, path: Path) -> None:
    "The description's fields have the types loading needs; both vocabularies are lists of strings, bounded."
    if not isinstance(doc["meta"], dict) or not isinstance(doc["config"], dict):
        raise ModelFileError(f"{path}: its meta and config are not JSON objects")
    ids = doc["ids"]
    if not (isinstance(ids, dict) and all(is_int(ids.get(k)) for k in ("bos", "eos", "pad"))):
        raise ModelFileError(f"{path}: its special-token ids are not integers bos, eos, pad")
    for side in ("src_itos", "tgt_itos"):
        v = doc[side]
        if not isinstance(v, list) or not all(isinstance(t, str) for t in v):
            raise ModelFileError(f"{path}: its {side} is not a list of strings")
        if len(v) > MAX_VOCAB: raise ModelFileError(f"{path}: its {side} has {len(v):,} entries (at most {MAX_VOCAB:,})")


LEGACY = dict(char_dim=0, ctx_skip=False)  # model options a file written before them lacks: what it had


def _config(doc: dict, path: Path) -> ModelConfig:
    """The ModelConfig of a description; unknown fields or bad values are a ModelFileError, not a
    TypeError. Options added since a file was written take the value that matches its weights (`LEGACY`)."""
    try:
        return ModelConfig(**{**LEGACY, **doc["config"]})
    except TypeError as e:
        raise ModelFileError(f"{path}: model config not understood by this version ({e})") from e
    except ConfigError as e:
        raise ModelFileError(f"{path}: its model config is invalid: {e}") from e


def check_sizes(cfg: ModelConfig, path: Path) -> None:
    "Every size of the config within `LIMITS` (far above any model this tool trains)."
    over = [f"{k}={getattr(cfg, k)} (at most {v:,})" for k, v in LIMITS.items() if getattr(cfg, k) > v]
    if over: raise ModelFileError(f"{path}: its model config is out of bounds: {', '.join(over)}")


def check_vocab_rows(cfg: ModelConfig, doc: dict, tensors: Dict[str, tuple], path: Path) -> None:
    "Each vocabulary as long as the first dimension of the stored tensor that holds it (`Arch.vocab_rows`)."
    for side, names in zip(("src_itos", "tgt_itos"), arch_of(cfg).vocab_rows):
        name = next((n for n in names if n in tensors), None)
        if name is None:
            raise ModelFileError(f"{path}: its weights do not fit its description (no tensor {' or '.join(names)})")
        rows = tensors[name][1][0] if tensors[name][1] else 0
        if rows != len(doc[side]):
            raise ModelFileError(f"{path}: its {side} has {len(doc[side]):,} entries, its tensor {name} {rows:,} rows")


def _implied(cfg: ModelConfig, doc: dict, path: Path):
    "The meta-device model and its `TensorSpec`s; a description it cannot build from is a ModelFileError."
    try:
        return implied_tensors(cfg, doc["src_itos"], doc["tgt_itos"])
    except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as e:
        raise ModelFileError(f"{path}: no model can be built from its description ({type(e).__name__}: {e})") from e


def check_tensors(specs: Sequence[TensorSpec], tensors: Dict[str, tuple], path: Path) -> None:
    """The stored tensors are exactly those the config implies: each under one of its names, with its
    shape and dtype, and nothing else. ModelFileError lists the first differences."""
    bad, known = [], set()
    for sp in specs:
        known.update(sp.names)
        have = [n for n in sp.names if n in tensors]
        if not have: bad.append(f"no tensor {sp.names[0]}")
        for n in have:
            want = (_TORCH_DTYPES.get(str(sp.dtype).replace("torch.", ""), str(sp.dtype)), sp.shape)
            if tensors[n] != want:
                bad.append(f"{n} is {tensors[n][0]} {list(tensors[n][1])}, its config implies {want[0]} {list(want[1])}")
    bad += [f"unexpected tensor {n}" for n in sorted(set(tensors) - known)]
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise ModelFileError(f"{path}: its weights do not fit its description: {'; '.join(bad[:3])}{more}")


def load_safe(path):
    """Read a file written by `save_safe`: `(model, doc)`, the model (on the CPU, in eval mode) with
    its `.meta`, and the file's JSON description (`src_itos`, `tgt_itos`, `config`, ...).

    Reads JSON and raw tensors only, and checks the description against the tensors' shapes and
    dtypes (from the header) before building the model, so a crafted file is refused in the memory
    and time of reading its header. Raises `ModelFileError` for anything else.
    """
    from safetensors.torch import load_model
    path = Path(path)
    stored = read_header(path)
    doc = _read_doc(path, stored)
    cfg = _config(doc, path)
    check_sizes(cfg, path)
    check_vocab_rows(cfg, doc, stored.tensors, path)
    meta_model, specs = _implied(cfg, doc, path)
    ids = doc["ids"]
    if (meta_model.bos_idx, meta_model.eos_idx, meta_model.pad_idx) != (ids["bos"], ids["eos"], ids["pad"]):
        raise ModelFileError(f"{path}: its special-token ids {ids} do not match its target vocabulary")
    check_tensors(specs, stored.tensors, path)
    model = build_model(cfg, doc["src_itos"], doc["tgt_itos"])
    try:
        load_model(model, str(path), strict=True, device="cpu")
    except (RuntimeError, ValueError, KeyError, OSError) as e:  # checked above: a file changed while read
        raise ModelFileError(f"{path}: its weights do not fit its description ({e})") from e
    model.meta = dict(doc["meta"], config=doc["config"])
    return model.eval(), doc


def warn_trust() -> None:
    "The one-line warning printed (stderr) when a pickle-based model file is loaded with trust."
    print(TRUST_WARNING, file=sys.stderr)


def safe_path(path: Path) -> Path:
    "The safe model file `path` stands for: itself, or `model.safetensors` in a folder."
    return path / MODEL_FILE if path.is_dir() else path

