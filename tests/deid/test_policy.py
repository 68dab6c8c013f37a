"""seq2seq/deid/policy.py: the per-type policy file, its precedence, and errors that name the file and line."""
import json

import pytest

from seq2seq.deid.policy import Policy, PolicyError, load_policy

GOOD = """# which operator each type gets
default: mask
NAME: encrypt
NAME:DOCTOR: surrogate
ID:MEDICALRECORD: hash
AGE: keep
"""


def test_precedence_type_then_category_then_default(tmp_path):
    (tmp_path / "p.yaml").write_text(GOOD)
    p = load_policy(tmp_path / "p.yaml")
    assert [p.operator(t) for t in ("NAME:DOCTOR", "NAME:PATIENT", "ID:MEDICALRECORD", "AGE", "DATE")] == \
        ["surrogate", "encrypt", "hash", "keep", "mask"]
    assert Policy({"DATE": "type"}).operator("AGE", "surrogate") == "surrogate"    # no default: the caller's
    assert p.operators() == {"mask", "encrypt", "surrogate", "hash", "keep"}


def test_json_works_too(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"default": "type", "DATE": "surrogate"}, indent=1))
    assert load_policy(tmp_path / "p.json").operator("DATE") == "surrogate"


@pytest.mark.parametrize("text, match", [
    ("DATE: surrogate\nNAME: blur\n", r"p\.yaml:2: unknown operator 'blur' for NAME \(choose one of mask, type"),
    ("DATE: surrogate\n\nBAD TYPE: mask\n", r"p\.yaml:3: 'BAD TYPE' is no tag type"),
    ("DATE: mask\nDATE: type\n", r"p\.yaml:2: DATE is given twice"),
    ("- DATE\n", r"p\.yaml:1: expected `TYPE: operator` lines"),
    ("DATE: [mask, type]\n", r"p\.yaml:1: expected `TYPE: operator`"),
    ("DATE: mask\n  x: : :\n", r"p\.yaml(:\d+)?: not valid YAML or JSON"),
    ("", r"p\.yaml: the file is empty")])
def test_bad_policies_name_the_file_and_line(tmp_path, text, match):
    (tmp_path / "p.yaml").write_text(text)
    with pytest.raises(PolicyError, match=match):
        load_policy(tmp_path / "p.yaml")


def test_unknown_types_name_the_line(tmp_path):
    (tmp_path / "p.yaml").write_text("DATE: mask\nPER: surrogate\n")
    p = load_policy(tmp_path / "p.yaml")
    p.check_types({"PER"})                                   # a type of the model is fine
    with pytest.raises(PolicyError, match=r"p\.yaml:2: unknown type 'PER'"):
        p.check_types(set())
    (tmp_path / "q.yaml").write_text("DATE: mask\nNAME: hash\nWEIRD:THING: mask\n")
    with pytest.raises(PolicyError, match=r"q\.yaml:3: unknown type 'WEIRD:THING'"):
        load_policy(tmp_path / "q.yaml").check_types({"PER"})


def test_missing_file():
    with pytest.raises(PolicyError, match="no such file"):
        load_policy("/nonexistent/p.yaml")
