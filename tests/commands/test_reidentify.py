"""scripts/reidentify.py (seq2seq-reidentify): a new key, restoring, and one-line errors."""
import subprocess
import sys
from pathlib import Path

from seq2seq.deid.redact import RedactConfig, redact
from seq2seq.text.tags import Span

ROOT = Path(__file__).resolve().parents[2]


def _cli(*argv):
    return subprocess.run([sys.executable, "scripts/reidentify.py", *map(str, argv)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_new_key_restore_and_errors(tmp_path):
    key = tmp_path / "secret.key"
    res = _cli("--new-key", key)
    assert res.returncode == 0 and key.is_file() and key.read_text().strip() not in res.stdout + res.stderr
    assert _cli("--new-key", key).returncode == 2                     # never overwritten
    (tmp_path / "in").mkdir()
    text = "\ufeffSeen by Dr. Smith on 3/4/2091.\r\n"
    red = redact(text, [Span(12, 17, "NAME:DOCTOR"), Span(21, 29, "DATE")], RedactConfig("encrypt", key_file=str(key)))
    (tmp_path / "in" / "n.txt").write_bytes(red.encode("utf-8"))
    res = _cli("--key-file", key, "--input", tmp_path / "in", "--out", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "out" / "n.txt").read_bytes() == text.encode("utf-8") and "2 encrypted span(s)" in res.stdout
    (tmp_path / "other.key").write_text("x" * 40)
    res = _cli("--key-file", tmp_path / "other.key", "--input", tmp_path / "in", "--out", tmp_path / "o2")
    assert res.returncode == 2 and res.stderr.startswith("error: ") and len(res.stderr.strip().splitlines()) == 1
    assert "does not decrypt" in res.stderr and "x" * 40 not in res.stderr
    res = _cli("--input", tmp_path / "in", "--out", tmp_path / "o3")
    assert res.returncode == 2 and "--key-file" in res.stderr
