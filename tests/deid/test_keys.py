"""seq2seq/deid/keys.py: the key file, keyed seeds and hashes; the key's bytes never show."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seq2seq.deid.keys import Key, KeyFileError, load_key, new_key_file, normal_form

ROOT = Path(__file__).resolve().parents[2]


def test_new_key_file_is_private_random_and_never_overwritten(tmp_path):
    a, b = new_key_file(tmp_path / "a.key"), new_key_file(tmp_path / "b.key")
    assert a.read_text() != b.read_text() and len(a.read_text().strip()) == 64
    assert (a.stat().st_mode & 0o777) == 0o600
    with pytest.raises(KeyFileError, match="never overwritten"):
        new_key_file(a)


@pytest.mark.parametrize("content, match", [(None, "no such file"), (b"short\n", "at least 16"), ("dir", "is a folder")])
def test_bad_key_files_are_one_line_errors_without_the_key(tmp_path, content, match):
    p = tmp_path / "k"
    if content == "dir": p.mkdir()
    elif content is not None: p.write_bytes(content)
    with pytest.raises(KeyFileError, match=match) as e:
        load_key(p)
    assert "short" not in str(e.value)


def test_hash_and_seed_are_keyed_and_stable(tmp_path):
    k1, k2 = Key(b"a" * 32, "k1"), Key(b"b" * 32, "k2")
    h = k1.hash("NAME:PATIENT", "Ana Ruiz")
    assert h.startswith("[NAME:PATIENT:") and len(h) == len("[NAME:PATIENT:]") + 12
    assert h == k1.hash("NAME:PATIENT", " ana  RUIZ") != k2.hash("NAME:PATIENT", "Ana Ruiz")   # normal form; keyed
    assert h != k1.hash("NAME:DOCTOR", "Ana Ruiz") and k1.seed("x") != k2.seed("x")
    # the same in another process (no per-process hashing)
    (tmp_path / "key").write_bytes(b"a" * 32 + b"\n")
    code = f"from seq2seq.deid.keys import load_key; print(load_key({str(tmp_path / 'key')!r}).hash('NAME:PATIENT', 'Ana Ruiz'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONHASHSEED="123"))
    assert out.stdout.strip() == h, out.stderr


def test_the_key_never_shows():
    k = Key(b"s3cr3t-s3cr3t-s3cr3t", "the.key")
    assert "s3cr3t" not in repr(k) and "s3cr3t" not in str(k) and k.derive("a") != k.derive("b")


def test_normal_form():
    assert normal_form("  La  PALMA ") == normal_form("la palma") == "la palma" and normal_form("Sánchez") == "sanchez"
