"""Execute the notebooks of nbs/ in order, small (SEQ2SEQ_NB_SMALL=1), into a temporary folder."""
import json
import os
import sys

import jupytext
import nbclient
import nbformat
import pytest

from tests.conftest import ROOT

NBS = ROOT / "nbs"
ORDER = ["01_prepare_data.md", "02_train.md", "03_evaluate.md", "04_weak_supervision.md"]


def _kernel_manager(tmp):
    """A KernelManager whose "python3" kernel is this interpreter (the project's .venv).

    jupyter_client would look for "python3" in the user's and the system's kernel folders
    first, where a kernelspec may point at another Python, so the spec is written here.
    """
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    spec = tmp / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"}))
    return KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]))


def _text(nb) -> str:
    "Everything the code cells printed or displayed as text."
    res = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            res.append(o.get("text", "") or o.get("data", {}).get("text/plain", ""))
    return "\n".join(res)


@pytest.fixture(scope="module")
def monkeypatch_module():
    "A MonkeyPatch that lasts for the module (pytest's own is per test)."
    with pytest.MonkeyPatch.context() as mp: yield mp


@pytest.fixture(scope="module")
def executed(tmp_path_factory, monkeypatch_module):
    "The three notebooks, run in order in one output folder: {name: executed notebook}."
    out, tmp = tmp_path_factory.mktemp("nb_out"), tmp_path_factory.mktemp("kernel")
    monkeypatch_module.setenv("SEQ2SEQ_NB_SMALL", "1")
    monkeypatch_module.setenv("SEQ2SEQ_NB_OUT", str(out))
    monkeypatch_module.setenv("OMP_NUM_THREADS", "1")  # tiny models: one thread beats fighting over two cores
    # the kernel imports this checkout's package even when it is not installed
    monkeypatch_module.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    res = {}
    for name in ORDER:
        nb = jupytext.read(NBS / name)
        client = nbclient.NotebookClient(nb, km=_kernel_manager(tmp / name), timeout=300,
                                         resources={"metadata": {"path": str(NBS)}})
        try:
            client.execute()
        except nbclient.exceptions.CellExecutionError as e:
            pytest.fail(f"{name} failed:\n{e}")
        res[name] = nb
    return out, res


def test_kernel_is_this_python(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")])
    nbclient.NotebookClient(nb, km=_kernel_manager(tmp_path), timeout=120).execute()
    assert nb.cells[0].outputs[0]["text"].strip() == sys.executable


def _images(nb) -> int:
    "How many figures the notebook displayed."
    return sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


def test_prepare_data(executed):
    out, nbs = executed
    text = _text(nbs["01_prepare_data.md"])
    assert "documents:" in text and "spans:" in text  # the report's summary was printed
    assert (out / "converted.csv").is_file()
    n_rows = sum(1 for _ in open(out / "converted.csv", encoding="utf-8")) - 1
    assert f"wrote {n_rows} rows" in text
    assert _images(nbs["01_prepare_data.md"]) == 6  # every length and tag-count figure was displayed


def test_train_writes_export(executed):
    out, nbs = executed
    assert (out / "export.pkl").stat().st_size > 0
    assert (out / "valid.csv").is_file() and (out / "models" / "seq2seq_rnn.pth").is_file()
    assert "aligned model:" in _text(nbs["02_train.md"])  # the default model, as scripts/train.py builds it
    assert _images(nbs["02_train.md"]) == 3  # lr_find, losses, metrics


def test_evaluate_prints_decoder_table(executed):
    _, nbs = executed
    table = next((o["text"] for c in nbs["03_evaluate.md"].cells for o in c.get("outputs", [])
                  if "sent_per_s" in o.get("text", "")), None)
    assert table is not None
    head, *rows = table.strip().splitlines()
    assert head.split() == ["bleu", "chrf", "exact_match", "span_p", "span_r", "span_f1", "faithfulness", "sent_per_s"]
    assert [r.split()[0] for r in rows] == ["greedy", "topk", "nucleus", "beam"]
    assert all(float(r.split()[7]) == 1.0 for r in rows)  # faithful decoding, every decoder
    assert _images(nbs["03_evaluate.md"]) == 2  # decoder comparison, decision heatmap


def test_weak_supervision_writes_silver(executed):
    out, nbs = executed
    text = _text(nbs["04_weak_supervision.md"])
    assert "round trip: True" in text and "vote " in text and "hmm " in text
    assert (out / "silver.csv").is_file() and (out / "silver_model" / "export.pkl").is_file()
