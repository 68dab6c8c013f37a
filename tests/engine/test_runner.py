"""seq2seq-predict --engine dask on a local cluster of 2 workers: output identical to the one-process
run, resume after a killed worker and after a killed job, a bad document named without losing the others."""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from seq2seq.commands.predict import main as predict
from seq2seq.formats.output_set import MANIFEST, digest, read_manifest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster():
    "A local Dask cluster of 2 worker processes (importing this checkout), shared by the tests: (address, client)."
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(ROOT)   # the workers import this checkout, not an installed one
    from distributed import Client, LocalCluster
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c, \
                Client(c) as client:
            yield c.scheduler_address, client
    finally:
        if old is None: os.environ.pop("PYTHONPATH", None)
        else: os.environ["PYTHONPATH"] = old


@pytest.fixture(scope="module")
def notes(tmp_path_factory) -> Path:
    "24 notes of 3 sentences each (sample rows the tiny model was not trained on), CRLF and blank lines."
    d = tmp_path_factory.mktemp("notes")
    rows = pd.read_csv(ROOT / "data" / "sample.csv").orig_text.tolist()[240:]
    for i in range(24):
        (d / f"note{i:02d}.txt").write_bytes(("\r\n\r\n".join(rows[3 * i:3 * i + 3]) + "\n").encode())
    return d


def one_process(tiny_model, out: Path, *args):
    predict(["--model", str(tiny_model), "--out", str(out), "--threads", "1", *args])
    return out


def on_dask(tiny_model, cluster, out: Path, *args):
    predict(["--model", str(tiny_model), "--out", str(out), "--engine", "dask", "--cluster", cluster[0], *args])
    return out


_SCORE = re.compile(r'(score[^0-9a-z]{1,4})([0-9][0-9.e-]*)')


def same_outputs(a: Path, b: Path):
    """Every output file of `a` is in `b`, equal byte for byte but for the span scores, which agree to
    float rounding (the batch a sentence is decoded in changes the last bits of its sums)."""
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and "parts" not in p.parts
                                     and p.name != "errors.jsonl")
    for f in files:
        if f.name == MANIFEST:   # the same files listed, each with its own folder's digest (scores' last bits differ)
            ma, mb = (read_manifest(d) for d in (a, b))
            assert sorted(ma) == sorted(mb) and all(mb[k] == [digest(b / k)] for k in mb), f
            continue
        ta, tb = ((d / f).read_text(encoding="utf-8") for d in (a, b))
        assert _SCORE.sub(r"\1S", ta) == _SCORE.sub(r"\1S", tb), f
        sa, sb = ([float(m[2]) for m in _SCORE.finditer(t)] for t in (ta, tb))
        assert len(sa) == len(sb) and all(abs(x - y) <= 2e-6 for x, y in zip(sa, sb)), f


DOC_ARGS = ["--input-format", "text", "--output-format", "jsonl", "csv", "brat", "i2b2", "--redact", "surrogate"]


def test_documents_on_two_workers_equal_one_process(tiny_model, cluster, notes, tmp_path, capsys):
    want = one_process(tiny_model, tmp_path / "one", "--input", str(notes), *DOC_ARGS)
    got = on_dask(tiny_model, cluster, tmp_path / "dask", "--input", str(notes), *DOC_ARGS, "--partition-size", "5")
    same_outputs(want, got)
    parts = sorted((got / "parts").glob("part-*.json"))
    assert len(parts) == 5   # 24 notes, 5 a partition
    loads = {json.loads(p.read_text())["summary"]["pid"]: json.loads(p.read_text())["summary"]["loads"] for p in parts}
    assert 1 <= len(loads) <= 2 and set(loads.values()) == {1}   # the model loaded once per worker
    assert "5 partition(s) (0 done before), 24 documents" in capsys.readouterr().out


def test_csv_rows_on_two_workers_equal_one_process_byte_for_byte(tiny_model, cluster, tmp_path):
    csv = tmp_path / "in.csv"
    pd.read_csv(ROOT / "data" / "sample.csv").iloc[240:283].to_csv(csv, index=False, sep=";")
    want = tmp_path / "one.csv"
    one_process(tiny_model, want, "--csv", str(csv))
    got = on_dask(tiny_model, cluster, tmp_path / "dask.csv", "--csv", str(csv), "--partition-size", "10")
    assert got.read_bytes() == want.read_bytes()
    assert len(list((tmp_path / "dask.csv.parts").glob("part-*.csv"))) == 5
    # rows as documents (--output-format jsonl) too
    pd.read_csv(csv, sep=";").to_csv(csv, index=False)   # the document path reads commas only
    same_outputs(one_process(tiny_model, tmp_path / "one_docs", "--input", str(csv), "--input-format", "csv",
                             "--output-format", "jsonl", "csv"),
                 on_dask(tiny_model, cluster, tmp_path / "dask_docs", "--input", str(csv), "--input-format", "csv",
                         "--output-format", "jsonl", "csv", "--partition-size", "10"))


def test_a_bad_document_is_named_and_the_others_kept(tiny_model, cluster, notes, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for f in sorted(notes.iterdir())[:6]: (src / f.name).write_bytes(f.read_bytes())
    (src / "latin1.txt").write_bytes("Paciente José, 3/4/2091.".encode("latin-1"))  # not UTF-8: cannot be read
    (src / "control.txt").write_text("Seen on 3/4/2091.\x01 Discharged.")            # i2b2 XML cannot hold \x01
    out = on_dask(tiny_model, cluster, tmp_path / "out", "--input", str(src), "--input-format", "text",
                  "--output-format", "jsonl", "i2b2", "--partition-size", "3")
    err = capsys.readouterr().err
    assert "warning: latin1:" in err and "not UTF-8" in err and "warning: control:" in err and "0x1" in err
    ids = [json.loads(x)["id"] for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert ids == [f"note{i:02d}" for i in range(6)]
    assert sorted(p.stem for p in (out / "i2b2").iterdir()) == ids
    assert sorted(json.loads(x)["document"] for x in (out / "errors.jsonl").read_text().splitlines()) == ["control", "latin1"]


def test_resume_after_a_worker_is_killed_mid_run(tiny_model, cluster, notes, tmp_path):
    address, client = cluster
    out, res = tmp_path / "dask", {}
    job = threading.Thread(target=lambda: res.update(r=on_dask(tiny_model, cluster, out, "--input", str(notes),
                                                               *DOC_ARGS, "--partition-size", "1")))
    job.start()
    deadline = time.monotonic() + 300
    while not list((out / "parts").glob("part-*.json")) and time.monotonic() < deadline: time.sleep(0.05)
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    done_at_kill = len(list((out / "parts").glob("part-*.json")))
    os.kill(victim, signal.SIGKILL)
    job.join(600)
    assert "r" in res and done_at_kill < 24   # the worker died mid-run; the job still finished
    assert victim not in client.run(os.getpid).values()
    same_outputs(one_process(tiny_model, tmp_path / "one", "--input", str(notes), *DOC_ARGS), out)


def test_resume_after_the_job_is_killed(tiny_model, cluster, notes, tmp_path, capsys):
    out = tmp_path / "dask"
    cmd = [sys.executable, str(ROOT / "scripts" / "predict.py"), "--model", str(tiny_model), "--out", str(out),
           "--input", str(notes), *DOC_ARGS, "--engine", "dask", "--workers", "2", "--partition-size", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while len(list((out / "parts").glob("part-*.json"))) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)   # the driver and its local cluster, all at once
        proc.wait(60)
    done = len(list((out / "parts").glob("part-*.json")))
    assert 2 <= done < 24 and not (out / "predictions.jsonl").exists()
    on_dask(tiny_model, cluster, out, "--input", str(notes), *DOC_ARGS, "--partition-size", "1")
    assert f"24 partition(s) ({done} done before)" in capsys.readouterr().out
    same_outputs(one_process(tiny_model, tmp_path / "one", "--input", str(notes), *DOC_ARGS), out)


def test_parts_of_another_job_are_refused(tiny_model, cluster, notes, tmp_path, capsys):
    out = on_dask(tiny_model, cluster, tmp_path / "out", "--input", str(notes), "--input-format", "text",
                  "--partition-size", "12")
    (out / "predictions.jsonl").unlink()
    with pytest.raises(ValueError, match="partitions of another job"):
        on_dask(tiny_model, cluster, out, "--input", str(notes), "--input-format", "text", "--partition-size", "12",
                "--min-score", "0.5")
    on_dask(tiny_model, cluster, out, "--input", str(notes), "--input-format", "text", "--partition-size", "12",
            "--min-score", "0.5", "--overwrite")
    assert "2 partition(s) (0 done before)" in capsys.readouterr().out


@pytest.mark.parametrize("argv,match", [(["--workers", "2"], "need --engine dask"),
                                        (["--engine", "dask", "--workers", "2", "--cluster", "tcp://x:1"], "not both"),
                                        (["--engine", "dask", "--partition-size", "0"], "--partition-size must be >= 1"),
                                        (["--engine", "dask", "--workers", "0"], "--workers must be >= 1")])
def test_engine_options_are_checked(tiny_model, tmp_path, capsys, argv, match):
    with pytest.raises(SystemExit) as e:
        predict(["--model", str(tiny_model), "--csv", "x.csv", "--out", str(tmp_path / "o.csv"), *argv])
    assert e.value.code == 2 and match in capsys.readouterr().err
