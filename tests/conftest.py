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
