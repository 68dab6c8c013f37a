"""benchmarks/redact.py at a tiny size: every operator on the Spanish fixture note, ending with its JSON line."""
import json

from tests.commands.test_predict import _script


def test_redact_benchmark_prints_json(capsys):
    bench = _script("benchmarks/redact.py")
    res = bench.main(["--brat", "tests/fixtures/notes_es", "--map", "none", "--repeats", "1"])
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line == res and res["notes"] == 1 and res["spans"] >= 24
    assert set(res["operators"]) == set(bench.OPERATORS) and all(v["cpu_s"] >= 0 for v in res["operators"].values())
