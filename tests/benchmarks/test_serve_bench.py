"""benchmarks/serve.py and benchmarks/scale.py at tiny sizes: bounded runs that end with their JSON line."""
import json

import pytest

from tests.commands.test_predict import _script
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_serve_benchmark_runs_both_servers_at_each_concurrency(tiny_model, capsys):
    bench = _script("benchmarks/serve.py")
    res = bench.main(["--model", str(tiny_model), "--requests", "12", "--concurrency", "1,4", "--time-cap", "60"])
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line == json.loads(json.dumps(res))
    for c in ("1", "4"):
        for k in ("off", "on"):
            r = res["runs"][c][k]
            assert r["requests"] == 12 and r["errors"] == 0 and r["p99_ms"] >= r["p50_ms"] > 0
            assert r["server_cpu_s"] > 0 and r["server_peak_rss_mb"] > 50
        assert res["runs"][c]["off"]["sents_per_batch"] == 1.0
    assert set(res["speedup"]) == {"1", "4"}


def test_scale_benchmark_runs_one_process_and_a_worker(tiny_model, capsys):
    bench = _script("benchmarks/scale.py")
    res = bench.main(["--model", str(tiny_model), "--input", str(ROOT / "tests" / "fixtures" / "notes"), "--workers", "1",
                      "--partition-size", "2"])
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line == json.loads(json.dumps(res)) and res["notes"] == 3 and res["same_note_count"]
    assert set(res["runs"]) == {"1 process", "dask 1"}
    assert all(r["notes_per_s"] > 0 and r["notes_per_cpu_s"] > 0 for r in res["runs"].values())
