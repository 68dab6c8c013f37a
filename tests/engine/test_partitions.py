"""Jobs and partitions without a cluster: input order, sizes, content keys, job fingerprints, options."""
import dataclasses
import os

import pandas as pd
import pytest

from seq2seq.config import ConfigError
from seq2seq.decoding.config import DecodeConfig
from seq2seq.engine.config import EngineConfig
from seq2seq.engine.partitions import Job, plan


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "notes"
    d.mkdir()
    for i in range(7): (d / f"n{i}.txt").write_text(f"Note {i} seen on 3/4/2091.\n")
    (d / "skip.md").write_text("not a note")
    return d


def job_of(tmp_path, inp, fmt="text", **kw):
    model = tmp_path / "model.safetensors"
    if not model.exists(): model.write_bytes(b"weights")
    return Job(model=str(model), input=str(inp), input_format=fmt, out=str(tmp_path / "out"), decode=DecodeConfig(), **kw)


def test_document_files_in_runs_of_the_partition_size(tmp_path, folder):
    n, parts = plan(job_of(tmp_path, folder), 3, "orig_text")
    parts = list(parts)
    assert n == 3 and [p.name for p in parts] == ["part-00000", "part-00001", "part-00002"]
    assert [[os.path.basename(f) for f in p.files] for p in parts] == [["n0.txt", "n1.txt", "n2.txt"],
                                                                       ["n3.txt", "n4.txt", "n5.txt"], ["n6.txt"]]


def test_a_partition_key_follows_its_contents(tmp_path, folder):
    before = [p.key for p in plan(job_of(tmp_path, folder), 3, "orig_text")[1]]
    (folder / "n4.txt").write_text("Another note, longer than before.\n")
    after = [p.key for p in plan(job_of(tmp_path, folder), 3, "orig_text")[1]]
    assert before[0] == after[0] and before[2] == after[2] and before[1] != after[1]


def test_csv_rows_in_chunks_in_order(tmp_path):
    csv = tmp_path / "in.csv"
    pd.DataFrame({"orig_text": [f"row {i}" for i in range(11)], "k": range(11)}).to_csv(csv, index=False)
    n, parts = plan(job_of(tmp_path, csv, "csv", plain=True, formats=("csv",)), 4, "orig_text")
    parts = list(parts)
    assert n == 3 and [len(p.rows) for p in parts] == [4, 4, 3] and parts[0].sep == ","
    assert [r for p in parts for r in p.rows.orig_text] == [f"row {i}" for i in range(11)]
    n, docs = plan(job_of(tmp_path, csv, "csv", formats=("jsonl",)), 4, "orig_text")
    assert n == 3 and [d.doc_id for p in docs for d in p.docs] == [str(i + 1) for i in range(11)]


def test_the_fingerprint_follows_the_model_and_the_options_not_the_threads(tmp_path, folder):
    job = job_of(tmp_path, folder)
    fp = job.fingerprint()
    assert fp == dataclasses.replace(job, threads=4, overwrite=True).fingerprint()
    assert fp != dataclasses.replace(job, min_score=0.5).fingerprint()
    assert fp != dataclasses.replace(job, decode=DecodeConfig(decoder="beam")).fingerprint()
    (tmp_path / "model.safetensors").write_bytes(b"other weights")
    assert fp != job.fingerprint()


@pytest.mark.parametrize("kw,match", [(dict(engine="spark"), "engine"), (dict(engine="dask", workers=0), "workers"),
                                      (dict(engine="dask", workers=2, cluster="tcp://h:8786"), "not both"),
                                      (dict(workers=2), "need"), (dict(engine="dask", partition_size=0), "partition_size")])
def test_engine_options(kw, match):
    with pytest.raises(ConfigError, match=match):
        EngineConfig(**kw)
    assert EngineConfig(engine="dask", cluster="tcp://h:8786").cluster == "tcp://h:8786"
