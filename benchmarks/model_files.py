#!/usr/bin/env python
"""Memory and CPU of loading a real model file against refusing crafted ones, in one run.

Writes a model.safetensors of the default architecture and sizes (random weights; --src-words source
and --types span types), then the crafted variants of issue 22 built from it: a config that asks for
more than its tensors hold (hidden=100000, buckets=1e9, src_words=1e7, hidden=4096), a vocabulary of
--big-vocab entries (alone, and behind a padding tensor as large as its description), a tensor stored
as I32 where F32 is expected, and the file cut short. Each is loaded the way seq2seq-predict loads a
model (`training.learner.load_seq2seq`) in a fresh process with one torch thread, which reports its
peak RSS (VmHWM of /proc/self/status: getrusage's ru_maxrss would carry the parent's peak over the
exec) and CPU seconds (user + system); `imports only` is the same process
without the load. The last line is one JSON object: name -> {loaded, mb, cpu_s, error}.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys, torch
torch.set_num_threads(1)
from seq2seq.errors import UserError
from seq2seq.training.learner import load_seq2seq
res = dict(loaded=False, error="")
if sys.argv[1] != "-":
    try:
        load_seq2seq(sys.argv[1])
        res["loaded"] = True
    except UserError as e:
        res["error"] = str(e).split(": ", 1)[-1][:110]
r = resource.getrusage(resource.RUSAGE_SELF)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))  # kB; ru_maxrss survives exec
res.update(mb=round(hwm / 1024), cpu_s=round(r.ru_utime + r.ru_stime, 2))
print(json.dumps(res))
"""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src-words", type=int, default=20_000, help="source vocabulary of the real model")
    p.add_argument("--types", type=int, default=20, help="span types of the real model")
    p.add_argument("--big-vocab", type=int, default=4_000_000, help="entries of the crafted vocabulary")
    p.add_argument("--small", action="store_true", help="tiny sizes (for the test of this script)")
    a = p.parse_args(argv)
    if min(a.src_words, a.types, a.big_vocab) < 1: p.error("sizes must be >= 1")
    return a


def real_model(folder: Path, src_words: int, types: int, small: bool) -> Path:
    "A model file of the default arch and sizes (or tiny ones) with random weights."
    from seq2seq.models.config import ModelConfig
    from seq2seq.models.modelfile import save_safe
    from seq2seq.models.registry import build_model
    special = ["xxunk", "xxpad", "xxbos", "xxeos"]
    src = special + [f"w{i}" for i in range(src_words)]
    tgt = special + [f"{{{{{s}T{k}}}}}" for k in range(types) for s in ("", "/")] + src[4:4 + 1000]
    cfg = ModelConfig(emb_size=8, hidden=8, sub_dim=4, buckets=64, word_dim=4, shape_dim=2, char_dim=4) if small \
        else ModelConfig()
    model = build_model(cfg, src, tgt)
    model.meta = dict(format_version=1, version="bench", lang="en", src="orig_text", tgt="annotated_text", task="restore")
    return save_safe(model, src, tgt, folder / "real.safetensors")


def crafted(real: Path, folder: Path, big_vocab: int) -> dict:
    "name -> path of each crafted variant of the file `real`."
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file
    with safe_open(str(real), framework="pt") as f:
        raw_doc, tensors = f.metadata()["seq2seq"], {k: f.get_tensor(k) for k in f.keys()}

    def write(name, doc_edit=None, tensor_edit=None):
        doc, ts = json.loads(raw_doc), dict(tensors)
        if doc_edit: doc_edit(doc)
        if tensor_edit: tensor_edit(ts)
        save_file(ts, str(folder / f"{name}.safetensors"), metadata={"seq2seq": json.dumps(doc)})
        return folder / f"{name}.safetensors"

    big = [f"v{i}" for i in range(big_vocab)]
    res = {name: write(name, lambda d, k=k, v=v: d["config"].update({k: v})) for name, k, v in (
        ("hidden=100000", "hidden", 100_000), ("buckets=1e9", "buckets", 10 ** 9), ("src_words=1e7", "src_words", 10 ** 7),
        ("hidden=4096", "hidden", 4096))}
    res["big vocabulary"] = write("big_vocab", lambda d: d["src_itos"].extend(big))
    pad = len(json.dumps(big)) * 2
    res["big vocabulary + padding"] = write("big_vocab_pad", lambda d: d["src_itos"].extend(big),
                                            lambda t: t.update(pad=torch.zeros(pad, dtype=torch.uint8)))
    res["I32 for F32"] = write("i32", tensor_edit=lambda t: t.update({"bridge.weight": t["bridge.weight"].view(torch.int32)}))
    cut = folder / "truncated.safetensors"
    cut.write_bytes(real.read_bytes()[:-1000])
    res["truncated"] = cut
    return res


def measure(path) -> dict:
    "Load `path` (or only import, for '-') in a fresh process; its JSON report."
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    if out.returncode != 0: return dict(loaded=False, error=out.stderr.strip().splitlines()[-1][:110], mb=None, cpu_s=None)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    a = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        real = real_model(folder, a.src_words, a.types, a.small)
        files = {"imports only": "-", "real model": real, **crafted(real, folder, a.big_vocab)}
        res = {name: dict(measure(p), file_mb=round(Path(p).stat().st_size / 2 ** 20, 1) if p != "-" else 0)
               for name, p in files.items()}
    print(f"{'file':<26} {'file MB':>8} {'peak RSS MB':>12} {'CPU s':>7}  result")
    for name, r in res.items():
        what = "loaded" if r["loaded"] else (r["error"] or "-")
        print(f"{name:<26} {r['file_mb']:>8} {r['mb'] if r['mb'] is not None else '-':>12} "
              f"{r['cpu_s'] if r['cpu_s'] is not None else '-':>7}  {what}")
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
