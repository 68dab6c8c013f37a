"""seq2seq/deid/reidentify.py: encrypted copies of every MEDDOCAN dev note come back byte for byte."""
import pytest

from seq2seq.deid.crypto import DecryptError
from seq2seq.deid.keys import new_key_file
from seq2seq.deid.redact import RedactConfig, redact
from seq2seq.deid.reidentify import ReidentifyConfig, ReidentifyError, reidentify
from seq2seq.formats.readers import read_brat
from seq2seq.text.tags import ScoredSpan


def _encrypted(src_dir, out_dir, key_file, bom=False, limit=None):
    "Encrypted copies (every gold span, raw MEDDOCAN types) of the notes of `src_dir`; their original bytes by name."
    out_dir.mkdir()
    cfg, orig = RedactConfig("encrypt", key_file=str(key_file)), {}
    for k, (doc_id, text, spans) in enumerate(read_brat(src_dir)):
        if limit is not None and k >= limit: break
        if bom:
            text = "\ufeff" + text
            spans = [ScoredSpan(s.start + 1, s.end + 1, s.type, 1.0) for s in spans]
        spans = sorted({(s.start, s.end): s for s in spans}.values())
        kept = [s for i, s in enumerate(spans) if i == 0 or s.start >= spans[i - 1].end]     # no overlaps
        orig[f"{doc_id}.txt"] = text.encode("utf-8")
        (out_dir / f"{doc_id}.txt").write_bytes(redact(text, kept, cfg, doc_id).encode("utf-8"))
    return orig


def test_every_dev_note_round_trips_byte_for_byte(corpora, tmp_path):
    key = new_key_file(tmp_path / "secret.key")
    orig = _encrypted(corpora / "meddocan" / "dev" / "brat", tmp_path / "redacted", key)
    assert len(orig) == 250
    sample = (tmp_path / "redacted" / next(iter(orig))).read_text(encoding="utf-8")
    assert "[ENC:" in sample
    res = reidentify(ReidentifyConfig(str(key), str(tmp_path / "redacted"), str(tmp_path / "restored")), log=lambda s: None)
    assert res["files"] == 250 and res["tokens"] > 4000
    assert {f.name: f.read_bytes() for f in (tmp_path / "restored").iterdir()} == orig


def test_a_bom_note_round_trips_and_keeps_its_bom(corpora, tmp_path):
    key = new_key_file(tmp_path / "secret.key")
    orig = _encrypted(corpora / "meddocan" / "dev" / "brat", tmp_path / "redacted", key, bom=True, limit=5)
    assert all((tmp_path / "redacted" / n).read_bytes().startswith(b"\xef\xbb\xbf") for n in orig)
    reidentify(ReidentifyConfig(str(key), str(tmp_path / "redacted"), str(tmp_path / "restored")), log=lambda s: None)
    assert {f.name: f.read_bytes() for f in (tmp_path / "restored").iterdir()} == orig


def test_a_wrong_key_is_a_clear_error_and_writes_nothing(tmp_path):
    key, other = new_key_file(tmp_path / "a.key"), new_key_file(tmp_path / "b.key")
    (tmp_path / "in").mkdir()
    text = "Paciente Ana Ruiz."
    (tmp_path / "in" / "n.txt").write_text(redact(text, [ScoredSpan(9, 17, "NAME:PATIENT", 1.)],
                                                  RedactConfig("encrypt", key_file=str(key))))
    with pytest.raises(DecryptError, match=r"n\.txt: the encrypted span at offset 9 does not decrypt with --key-file .*b\.key"):
        reidentify(ReidentifyConfig(str(other), str(tmp_path / "in"), str(tmp_path / "out")), log=lambda s: None)
    assert not (tmp_path / "out").exists()
    reidentify(ReidentifyConfig(str(key), str(tmp_path / "in"), str(tmp_path / "out")), log=lambda s: None)
    assert (tmp_path / "out" / "n.txt").read_text() == text
    with pytest.raises(ReidentifyError, match="pass --overwrite"):
        reidentify(ReidentifyConfig(str(key), str(tmp_path / "in"), str(tmp_path / "out")), log=lambda s: None)
    with pytest.raises(ReidentifyError, match="is the input folder"):
        reidentify(ReidentifyConfig(str(key), str(tmp_path / "in"), str(tmp_path / "in"), overwrite=True), log=lambda s: None)
