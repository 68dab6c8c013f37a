"""benchmarks/documents.py at a tiny size: it runs both paths and ends with its JSON line."""
import json

from tests.commands.test_predict import _script


def test_documents_benchmark_prints_json(tiny_model, capsys):
    bench = _script("benchmarks/documents.py")
    res = bench.main(["--model", str(tiny_model), "--docs", "3", "--per-doc", "2", "--repeats", "1", "--bs", "4"])
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line == res and res["csv_rows"] == 6 and 3 <= res["doc_sentences"] <= 6
    assert res["docs_per_s"] > 0 and all(v > 0 for v in res["cpu_ms_per_sentence"].values())
    assert res["text_cost_per_sentence"] > 0
