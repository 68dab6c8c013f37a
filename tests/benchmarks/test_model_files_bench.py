"""benchmarks/model_files.py and benchmarks/weak_long.py at tiny sizes: the crafted files are refused
(each for its own reason), the real one loads; the long-cell benchmark ends with its JSON line."""
import json

import pytest

from seq2seq.errors import ModelFileError
from seq2seq.models.modelfile import load_safe
from tests.commands.test_predict import _script


def test_every_crafted_file_of_the_benchmark_is_refused_and_the_real_one_loads(tmp_path):
    bench = _script("benchmarks/model_files.py")
    real = bench.real_model(tmp_path, 30, 3, small=True)
    load_safe(real)
    why = {"hidden=100000": "out of bounds", "buckets=1e9": "out of bounds", "src_words=1e7": "out of bounds",
           "hidden=4096": "do not fit", "big vocabulary": "a header of|more entries", "big vocabulary + padding": "more entries",
           "I32 for F32": "is I32", "truncated": "truncated"}
    files = bench.crafted(real, tmp_path, 20_000)
    assert set(files) == set(why)
    for name, path in files.items():
        with pytest.raises(ModelFileError, match=why[name]): load_safe(path)


def test_the_long_cell_benchmark_prints_json(capsys):
    bench = _script("benchmarks/weak_long.py")
    res = bench.main(["--sizes", "3000", "--methods", "vote", "--kinds", "dense,sparse"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == res
    assert res["vote/dense/3000"]["spans"] >= 100 > res["vote/sparse/3000"]["spans"] == 3
