"""The package's layout: subpackages by concern, arrows pointing down the layers and never round
in a circle, light modules that import no torch or fastai, and one architecture registry."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "seq2seq"

# Bottom to top; a module may import its own layer's modules and those of the layers below.
LAYERS = [
    {"seq2seq.compat", "seq2seq.errors", "seq2seq.config", "seq2seq.utils", "seq2seq.resources", "seq2seq"},
    {"seq2seq.text"},
    {"seq2seq.formats"},
    {"seq2seq.data"},
    {"seq2seq.models"},
    {"seq2seq.decoding"},
    {"seq2seq.training"},
    {"seq2seq.deid", "seq2seq.weak", "seq2seq.viz"},
    {"seq2seq.integrations", "seq2seq.serve", "seq2seq.engine"},
    {"seq2seq.commands"},
]

# Modules whose import must stay cheap: no torch, no fastai (command-line parsing, file formats, scores).
LIGHT = ["seq2seq.text.tags", "seq2seq.text.scores", "seq2seq.text.sentences", "seq2seq.formats.readers",
         "seq2seq.formats.convert", "seq2seq.formats.csvio", "seq2seq.formats.documents", "seq2seq.formats.writers",
         "seq2seq.models.config", "seq2seq.decoding.config", "seq2seq.training.config", "seq2seq.deid.review",
         "seq2seq.weak.functions", "seq2seq.resources", "seq2seq.config", "seq2seq.errors", "seq2seq.deid.repeats",
         "seq2seq.deid.redact", "seq2seq.deid.policy", "seq2seq.deid.keys", "seq2seq.deid.reidentify",
         "seq2seq.commands.reidentify",
         "seq2seq.serve.config", "seq2seq.engine.config", "seq2seq.serve.batcher", "seq2seq.serve.limits",
         "seq2seq.serve.logs"]


def _modules() -> dict:
    "Dotted name -> path of every module of the package."
    res = {}
    for f in PKG.rglob("*.py"):
        parts = f.relative_to(ROOT).with_suffix("").parts
        res[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return res


def _imports(name: str, path: Path, mods: dict) -> set:
    "The package modules `name` imports (anywhere in the file, function bodies included)."
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    res = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = pkg.split(".")[:len(pkg.split(".")) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            for a in node.names:  # `from . import compat` names a module
                res.add(f"{mod}.{a.name}" if f"{mod}.{a.name}" in mods else mod)
        elif isinstance(node, ast.Import):
            res.update(a.name for a in node.names)
    return {m for m in res if m in mods and m != name}


def _layer(mod: str) -> int:
    for i, layer in enumerate(LAYERS):
        if mod in layer or any(mod.startswith(p + ".") for p in layer if p != "seq2seq"): return i
    raise AssertionError(f"{mod} belongs to no layer of tests/test_layout.py")


@pytest.fixture(scope="module")
def graph():
    mods = _modules()
    return {m: _imports(m, p, mods) for m, p in mods.items()}


def test_every_module_lives_in_a_subpackage_by_concern():
    top = sorted(p.stem for p in PKG.glob("*.py"))
    assert top == ["__init__", "compat", "config", "errors", "utils"], top  # the core, imported by every layer
    for d in PKG.iterdir():
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")):
            doc = ast.get_docstring(ast.parse((d / "__init__.py").read_text()))
            assert doc, f"seq2seq/{d.name}/__init__.py should say what the folder holds"


def test_arrows_point_down_the_layers(graph):
    up = [(a, b) for a, deps in graph.items() for b in deps if _layer(b) > _layer(a)]
    assert not up, "imports up a layer: " + ", ".join(f"{a} -> {b}" for a, b in up)


def test_no_import_circles(graph):
    "No strongly connected component of more than one module (Tarjan)."
    index, low, stack, on, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v: break
            if len(comp) > 1: comps.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index: visit(v)
    assert not comps, f"import circles: {comps}"


def test_the_layout_checks_can_fail(graph):
    "The checks above find a planted circle and a planted upward arrow."
    planted = {k: set(v) for k, v in graph.items()}
    planted["seq2seq.text.tags"].add("seq2seq.models.aligned")
    assert _layer("seq2seq.models.aligned") > _layer("seq2seq.text.tags")
    reach, todo = set(), ["seq2seq.text.tags"]
    while todo:
        for w in planted[todo.pop()] - reach:
            reach.add(w)
            todo.append(w)
    assert "seq2seq.text.tags" in reach  # aligned imports tags: a circle


@pytest.mark.parametrize("mod", LIGHT)
def test_light_modules_import_no_torch_or_fastai(mod):
    code = f"import sys, {mod}; print(sorted(m for m in ('torch', 'fastai', 'spacy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"{mod} pulls in {out.stdout.strip()}"


def test_one_registry_builds_trains_loads_and_plots_every_arch():
    from seq2seq.models.config import ARCH_NAMES, ModelConfig
    from seq2seq.models.registry import ARCHS, arch_of, build_model
    assert tuple(ARCHS) == ARCH_NAMES
    itos = ["xxunk", "xxpad", "xxbos", "xxeos", "a", "b", "{{X}}", "{{/X}}"]
    for name, arch in ARCHS.items():
        cfg = ModelConfig(arch=name, emb_size=8, hidden=8, sub_dim=4, buckets=16, word_dim=4, shape_dim=2, char_dim=0)
        assert arch_of(cfg) is arch
        model = build_model(cfg, itos, itos)
        assert (model.bos_idx, model.eos_idx, model.pad_idx) == (2, 3, 1)
        loss, acc = arch.loss(model)
        assert callable(loss) and hasattr(acc, "on_batch_end")
        assert arch.plot in (None, "decisions", "attention")
    # no arch-name branches outside the registry
    for f in PKG.rglob("*.py"):
        if f.relative_to(PKG).as_posix() in ("models/registry.py", "models/config.py"): continue  # config: the old flag
        src = f.read_text()
        for name in ARCH_NAMES:
            assert f'arch == "{name}"' not in src and f"arch == '{name}'" not in src, f"{f}: branches on arch {name}"
