"""The package as users install it: a wheel built from the package alone, installed (not editable) into a
fresh virtual environment, runs `seq2seq-predict` and finds its data files, with no checkout on the path."""
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(args, **kw):
    out = subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)
    assert out.returncode == 0, f"{args[:3]}... exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, bin folder, env) of a fresh venv holding the wheel; the dependencies come from this
    interpreter's site-packages through a path line added after the install (so pip never sees them)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # the files a source distribution holds, nothing else of the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "requirements.txt"): shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "seq2seq", src / "seq2seq", ignore=shutil.ignore_patterns("__pycache__"))
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"),
          str(src)])
    wheel = next((tmp / "dist").glob("seq2seq_annotate-*.whl"))
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)])
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # torch, fastai, ... of this venv
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return py, venv / "bin", env, wheel, tmp


def test_the_wheel_holds_every_subpackage_and_the_data_files(installed):
    *_, wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    for d in ("text", "formats", "data", "models", "decoding", "training", "deid", "weak", "viz", "commands",
              "resources"):
        assert f"seq2seq/{d}/__init__.py" in names, d
    for f in ("resources/gazetteers/es_cities.txt", "resources/synth/words.json", "resources/maps/meddocan.json"):
        assert f"seq2seq/{f}" in names, f


def test_installed_package_runs_predict_and_reads_its_data(installed, tiny_model, tmp_path):
    py, bin_dir, env, _, tmp = installed
    where = _run([str(py), "-c", "import seq2seq; print(seq2seq.__file__)"], cwd=tmp_path, env=env).stdout.strip()
    assert Path(where).is_relative_to(tmp / "venv") and not Path(where).is_relative_to(ROOT), where
    # package data through importlib.resources: gazetteers, the synth word lists, a built-in type map
    code = ("from seq2seq.weak.builtin import builtin_lfs; from seq2seq.data.synth import make_pairs; "
            "from seq2seq.formats.convert import load_mapping; "
            "print(len(builtin_lfs()), len(make_pairs(5)), len(load_mapping('meddocan')))")
    counts = [int(x) for x in _run([str(py), "-c", code], cwd=tmp_path, env=env).stdout.split()]
    assert all(n > 0 for n in counts), counts
    csv = tmp_path / "in.csv"
    pd.read_csv(ROOT / "data" / "sample.csv").iloc[:20].to_csv(csv, index=False)
    out = tmp_path / "out.csv"
    _run([str(bin_dir / "seq2seq-predict"), "--model", str(tiny_model), "--csv", str(csv), "--out", str(out),
          "--threads", "1"], cwd=tmp_path, env=env)
    pred = pd.read_csv(out)
    assert len(pred) == 20 and "prediction" in pred.columns
    # the same predictions as the checkout's own package
    from seq2seq.training.learner import load_seq2seq
    ours = load_seq2seq(tiny_model).restore(pd.read_csv(csv).orig_text.tolist(), seed=0)
    assert pred.prediction.fillna("").tolist() == ours
