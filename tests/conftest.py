from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPORA = SHARED / "corpora"


@pytest.fixture
def corpora():
    "Path to ../shared/corpora; skips the test cleanly when it is absent."
    if not CORPORA.is_dir():
        pytest.skip("../shared/corpora not present")
    return CORPORA


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    "Tiny tensors run faster on one thread on a small shared machine."
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A small model trained for a few epochs on 240 sample rows, exported; shared by the tests.

    The seed arch: at this size and budget it already tags (the default aligned arch needs more
    steps; tests/test_aligned.py trains its own), so the prediction plumbing sees real spans.

    Returns the path of its model.safetensors (the folder also holds export.pkl, valid.csv and the
    other outputs).
    """
    from seq2seq.models.config import ModelConfig
    from seq2seq.training.config import TrainConfig
    from seq2seq.training.job import train
    from seq2seq.utils import seed_everything
    out = tmp_path_factory.mktemp("tiny_model")
    csv = out / "train.csv"
    import pandas as pd
    pd.read_csv(ROOT / "data" / "sample.csv").iloc[:240].to_csv(csv, index=False)
    seed_everything(0)
    train(TrainConfig(csv=str(csv), out=str(out), epochs=4, lr=1e-2, bs=32, decode_limit=32,
                      model=ModelConfig(arch="seed", emb_size=24, hidden=32, layers=1)), log=lambda *a: None)
    return out / "model.safetensors"


@pytest.fixture(scope="session")
def untrained_model(tmp_path_factory):
    """A small aligned model with random weights saved as model.safetensors, in seconds (no training):
    for tests of the file format and of the commands' plumbing, which need a model that loads and
    decodes, not a good one. Its types: DATE, NAME:DOCTOR, NAME:PATIENT, ID:MEDICALRECORD."""
    from seq2seq.models.config import ModelConfig
    from seq2seq.models.modelfile import save_safe
    from seq2seq.models.registry import build_model
    from seq2seq.utils import seed_everything
    seed_everything(0)
    special = ["xxunk", "xxpad", "xxbos", "xxeos"]
    words = "Seen by Dr . Smith on 3/4/2091 the patient MRN".split()
    marks = [f"{{{{{s}{t}}}}}" for t in ("DATE", "NAME:DOCTOR", "NAME:PATIENT", "ID:MEDICALRECORD") for s in ("", "/")]
    src, tgt = special + words, special + marks + words
    model = build_model(ModelConfig(emb_size=16, hidden=16, sub_dim=8, buckets=64, word_dim=8, shape_dim=4, char_dim=8),
                        src, tgt)
    model.meta = dict(format_version=1, version="test", lang="en", src="orig_text", tgt="annotated_text", task="restore")
    return save_safe(model, src, tgt, tmp_path_factory.mktemp("untrained") / "model.safetensors")
