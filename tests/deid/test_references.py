"""seq2seq/deid/references.py: --map for the reference (the convert maps) and the warning when the
reference's types are not the model's (issue 22, case 5: --ref scored 0.0000 without a word)."""
from types import SimpleNamespace

import pandas as pd

from seq2seq.deid.references import load_ref_map, map_ref_spans, map_ref_text, model_types, type_warning
from seq2seq.text.tags import Span


def test_the_convert_maps_rename_and_drop_reference_types():
    m = load_ref_map({"PER": "NAME:PATIENT", "MISC": None})
    assert map_ref_spans("Ana met Bob", [Span(0, 3, "PER"), Span(8, 11, "MISC")], m) == [Span(0, 3, "NAME:PATIENT")]
    assert map_ref_text("{{PER}}Ana{{/PER}} met {{MISC}}Bob{{/MISC}}", m) == "{{NAME:PATIENT}}Ana{{/NAME:PATIENT}} met Bob"
    assert load_ref_map(None) is None and map_ref_text("{{PER}}Ana{{/PER}}", None) == "{{PER}}Ana{{/PER}}"
    assert load_ref_map("meddocan")["NOMBRE_SUJETO_ASISTENCIA"] == "NAME:PATIENT"   # a built-in map by name


def test_a_warning_when_no_or_some_reference_types_are_the_models():
    learn = SimpleNamespace(data=SimpleNamespace(y=SimpleNamespace(vocab=SimpleNamespace(
        itos=["xxpad", "{{DATE}}", "{{/DATE}}", "{{NAME:DOCTOR}}", "{{/NAME:DOCTOR}}", "a"]))))
    known = model_types(learn)
    assert known == {"DATE", "NAME:DOCTOR"}
    none = type_warning(["PER", "PER", "LOC"], known)
    assert none.startswith("no reference type is one the model writes (PER (2), LOC (1); the model writes DATE, NAME:DOCTOR)")
    assert "--map" in none
    assert type_warning(["DATE", "LOC"], known).startswith("reference types the model never writes: LOC (1)")
    assert type_warning(["DATE"], known) is None and type_warning([], known) is None


def test_predict_csv_maps_the_reference_column_before_scoring(untrained_model, tmp_path, capsys):
    from seq2seq.deid.predict_csv import predict_csv
    from seq2seq.training.learner import load_seq2seq
    src = tmp_path / "in.csv"
    pd.DataFrame({"orig_text": ["Seen on 3/4/2091."], "gold": ["Seen on {{FECHA}}3/4/2091{{/FECHA}}."]}).to_csv(src, index=False)
    learn, logged = load_seq2seq(untrained_model), []
    predict_csv(learn, src, tmp_path / "a.csv", ref="gold", log=logged.append)
    assert any(m.startswith("warning: no reference type is one the model writes (FECHA (1)") for m in logged)
    logged.clear()
    res = predict_csv(learn, src, tmp_path / "b.csv", ref="gold", log=logged.append, ref_map=load_ref_map({"FECHA": "DATE"}))
    assert not any("warning" in m for m in logged) and set(res["spans"]["per_type"]) <= {"DATE", "NAME:DOCTOR",
                                                                                        "NAME:PATIENT", "ID:MEDICALRECORD"}
