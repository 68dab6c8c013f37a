"""Weak supervision: built-in labelling functions, the decorator and its error paths, vote and HMM
aggregation, silver CSV round trips, the script, and weak labels -> train -> predict end to end."""
import json
import random

import pandas as pd
import pytest

from tests.conftest import ROOT
from seq2seq.data.pairs import read_pairs
from seq2seq.text.tags import Span, annotate, parse, strip_tags
from seq2seq.weak.builtin import builtin_lfs, gazetteer_lf, gazetteers_from_csv, model_lf, read_gazetteer, regex_lf
from seq2seq.weak.functions import (
    LabellingFunction, LFError, apply_lfs, family_scores, labelling_function, lf_report, load_lf_file)
from seq2seq.weak.label_model import (
    LabelModelConfig, aggregate, fit_label_model, resolve_underspecified, silver_pairs, split_labels, token_cuts)

LFS = {lf.name: lf for lf in builtin_lfs()}

# (function, sentence, [(span text, type)]) in English and Spanish
CASES = [
    ("date_numeric", "Ingresó el 14/04/2017 y salió el 2017-04-20.", [("14/04/2017", "DATE"), ("2017-04-20", "DATE")]),
    ("date_words", "Visto el 3 de marzo de 2015; follow-up on March 5, 2016.",
     [("3 de marzo de 2015", "DATE"), ("March 5, 2016", "DATE")]),
    ("year_after_cue", "Diagnosticada en 2014 de IRC.", [("2014", "DATE")]),
    ("time", "Seen at 10:30 am.", [("10:30 am", "DATE")]),
    ("email", "E-mail: noeliauli@hotmail.com.", [("noeliauli@hotmail.com", "CONTACT:EMAIL")]),
    ("url", "See https://example.org/a?b=1.", [("https://example.org/a?b=1", "CONTACT:URL")]),
    ("ip_address", "Logged from 192.168.0.12 today.", [("192.168.0.12", "CONTACT:IPADDR")]),
    ("phone", "Tel: 955 012 000. Fax: 955-012-001. Call (617) 555-0123.",
     [("955 012 000", "CONTACT:PHONE"), ("955-012-001", "CONTACT:FAX"), ("(617) 555-0123", "CONTACT:PHONE")]),
    ("zip_before_city", "31008 Pamplona.", [("31008", "LOCATION:ZIP")]),
    ("zip_us", "Boston, MA 02114.", [("02114", "LOCATION:ZIP")]),
    ("zip_field", "CP: 28046.", [("28046", "LOCATION:ZIP")]),
    ("id_mixed", "Sample AB12345C and DNI 12345678Z.", [("AB12345C", "ID"), ("12345678Z", "ID")]),
    ("age_years", "Varón de 64 años; a 72-year-old man.", [("64 años", "AGE"), ("72", "AGE")]),
    ("age_context", "Mujer de 43 años con fiebre. Edad: 22. A man aged 70.",
     [("43 años", "AGE"), ("22", "AGE"), ("70", "AGE")]),
    ("street_es", "Vive en C/ Eduardo Rivas, 3 con su hija.", [("C/ Eduardo Rivas, 3", "LOCATION:STREET")]),
    ("street_en", "Lives at 12 Elm Street near the park.", [("12 Elm Street", "LOCATION:STREET")]),
    ("address_field", "Domicilio: Calle las Rosa, 19, 2 B.", [("Calle las Rosa, 19, 2 B", "LOCATION:STREET")]),
    ("doctor_title", "Seen by Dr. Smith and Dra. Ana López.", [("Smith", "NAME:DOCTOR"), ("Ana López", "NAME:DOCTOR")]),
    ("doctor_field", "Médico: Ricardo Cañones Zafra  NºCol: 28 28 63257.", [("Ricardo Cañones Zafra", "NAME:DOCTOR")]),
    ("license", "Médico: Ricardo Cañones Zafra  NºCol: 28 28 63257.", [("28 28 63257", "ID:LICENSE")]),
    ("patient_field", "Nombre: Lidia.", [("Lidia", "NAME:PATIENT")]),
    ("patient_field", "Patient: John Smith", [("John Smith", "NAME:PATIENT")]),
    ("patient_field", "Informe clínico del paciente: Mujer de 43 años.", []),  # not a name field
    ("city_field", "Localidad/ Provincia: San Sebastián de los Reyes.", [("San Sebastián de los Reyes", "LOCATION:CITY")]),
    ("country_field", "País de nacimiento: España.", [("España", "LOCATION:COUNTRY")]),
    ("medical_record", "NHC: 3271693.", [("3271693", "ID:MEDICALRECORD")]),
    ("health_plan", "NASS: 78 26957605 67.", [("78 26957605 67", "ID:HEALTHPLAN")]),
    ("id_field", "Episodio: 143545664.", [("143545664", "ID:IDNUM")]),
    ("id_long_number", "Episodio: 143545664 y NASS: 78 26957605 67.", [("143545664", "ID")]),
    ("hospital", "Servicio de Pediatría Complejo Hospitalario de Navarra 31008.",
     [("Complejo Hospitalario de Navarra", "LOCATION:HOSPITAL")]),
    ("gaz_es_cities", "Nació en Málaga y vive en Las Palmas de Gran Canaria.",
     [("Málaga", "LOCATION:CITY"), ("Las Palmas de Gran Canaria", "LOCATION:CITY")]),
    ("gaz_es_countries", "País: España.", [("España", "LOCATION:COUNTRY")]),
]


@pytest.mark.parametrize("name,text,expected", CASES)
def test_builtin_function(name, text, expected):
    got = [(text[s:e], t) for s, e, t in LFS[name](text)]
    assert got == expected


def test_builtin_functions_abstain_on_plain_text():
    text = "The patient reports constipation for the past several days. Refiere dolor abdominal."
    assert all(not list(lf(text)) for lf in LFS.values())


def test_decorator_names_and_families():
    @labelling_function(family="mine")
    def cue(text): return [(0, 3, "DATE")]

    named = labelling_function(name="other")(lambda t: [])
    assert isinstance(cue, LabellingFunction) and cue.name == "cue" and cue.family == "mine"
    assert named.name == "other" and named.family == "user"
    assert list(cue("abcdef")) == [(0, 3, "DATE")]


def test_load_example_file():
    lfs = load_lf_file(ROOT / "data" / "example_lfs.py")
    assert [lf.name for lf in lfs] == ["room_number", "relative"]
    votes = apply_lfs(["Cama 214 y su madre."], lfs, log=lambda m: None)
    assert votes.spans == {"room_number": [[Span(5, 8, "LOCATION:ROOM")]], "relative": [[Span(14, 19, "NAME:OTHER")]]}


def test_lf_file_errors(tmp_path):
    with pytest.raises(LFError, match="no such file"): load_lf_file(tmp_path / "none.py")
    bad = tmp_path / "bad.py"
    bad.write_text("import no_such_module_here\n")
    with pytest.raises(LFError, match=r"bad\.py: failed to import: ModuleNotFoundError"): load_lf_file(bad)
    empty = tmp_path / "empty.py"
    empty.write_text("def f(text): return []\n")
    with pytest.raises(LFError, match="defines no function decorated"): load_lf_file(empty)


def test_function_that_raises_is_named_skipped_and_counted():
    @labelling_function()
    def fragile(text):
        if "boom" in text: raise RuntimeError("cannot read this")
        return [(0, 4, "DATE")]

    logs = []
    votes = apply_lfs(["2020 ok", "boom here", "2021 ok"], [fragile], log=logs.append)
    assert votes.spans["fragile"] == [[Span(0, 4, "DATE")], [], [Span(0, 4, "DATE")]]
    assert votes.errors["fragile"] == 1
    assert logs == ["labelling function 'fragile', row 2: RuntimeError: cannot read this (skipped)"]
    assert lf_report(votes).loc["fragile", "errors"] == 1


@pytest.mark.parametrize("spans,match", [
    ([(5, 40, "DATE")], r"'bad', row 1: span \(5, 40, 'DATE'\) is empty or outside the text"),
    ([(3, 3, "DATE")], "is empty or outside"),
    ([(0, 6, "DATE"), (4, 8, "AGE")], r"'bad', row 1: its spans \(0, 6, 'DATE'\) and \(4, 8, 'AGE'\) overlap"),
    ([(0, 2, "not a type!")], r"'bad', row 1: bad span"),
    ([(0, 2)], r"'bad', row 1: bad span"),
])
def test_invalid_spans_are_refused_with_the_name(spans, match):
    lf = LabellingFunction("bad", lambda t: spans)
    with pytest.raises(LFError, match=match): apply_lfs(["short text", ""], [lf], log=lambda m: None)


def test_empty_text_is_not_passed_to_functions():
    seen = []
    lf = LabellingFunction("spy", lambda t: seen.append(t) or [])
    votes = apply_lfs(["", "a", None], [lf], log=lambda m: None)
    assert seen == ["a"] and votes.spans["spy"] == [[], [], []]
    spans, confs = aggregate(votes, LabelModelConfig("vote"), log=lambda m: None)
    assert spans == [[], [], []] and silver_pairs(votes, spans, confs).orig_text.tolist() == ["a"]


def test_duplicate_names_are_refused():
    lf = LabellingFunction("x", lambda t: [])
    with pytest.raises(LFError, match="repeated: x"): apply_lfs(["a"], [lf, lf])


def test_underspecified_types():
    assert split_labels(["ID", "ID:NHC", "ID:NASS", "DATE"]) == (["DATE", "ID", "ID:NASS", "ID:NHC"],
                                                               {"ID": {"ID:NHC", "ID:NASS"}})
    assert split_labels(["ID", "DATE"]) == (["DATE", "ID"], {})  # no subtype: ID is an ordinary label


def test_generic_vote_defers_to_the_specific_one():
    "A generic ID span takes the subtype of a specific function's overlapping span, so they agree."
    texts = [f"NHC: {1000000 + i}. Ref 123456{i % 10}." for i in range(60)]
    spec = LabellingFunction("nhc", lambda t: [(5, 12, "ID:NHC")])
    generic = LabellingFunction("digits", lambda t: [(5, 12, "ID"), (18, 25, "ID")])
    other = LabellingFunction("nass", lambda t: [(18, 25, "ID:NASS")] if t.endswith("7.") else [])
    votes = apply_lfs(texts, [spec, generic, other], log=lambda m: None)
    fixed = resolve_underspecified(votes)
    assert fixed.spans["digits"][7] == [Span(5, 12, "ID:NHC"), Span(18, 25, "ID:NASS")]
    assert fixed.spans["digits"][0] == [Span(5, 12, "ID:NHC"), Span(18, 25, "ID")]
    for method in ("vote", "hmm"):
        spans, _ = aggregate(votes, LabelModelConfig(method), log=lambda m: None)
        assert all(Span(5, 12, "ID:NHC") in s for s in spans), method


def test_label_model_fitted_once_applies_elsewhere():
    texts, truth, lfs = _outvote_case(200)
    model = fit_label_model(apply_lfs(texts[:150], lfs, log=lambda m: None), LabelModelConfig("hmm"))
    spans, _ = aggregate(apply_lfs(texts[150:], lfs, log=lambda m: None), model=model, log=lambda m: None)
    assert spans == truth[150:]
    assert fit_label_model(apply_lfs(["a"], [LabellingFunction("none", lambda t: [])]), LabelModelConfig()) is None


def test_token_cuts_follow_span_boundaries():
    text = "NºCol:28 28"
    assert token_cuts(text, [Span(6, 11, "ID")]) == [(0, 5), (5, 6), (6, 8), (9, 11)]  # º is a letter
    assert token_cuts(text, [Span(2, 5, "ID")]) == [(0, 2), (2, 5), (5, 6), (6, 8), (9, 11)]
    assert token_cuts("abc", [Span(1, 2, "X")]) == [(0, 1), (1, 2), (2, 3)]


def _outvote_case(n=300, seed=0):
    """Texts with a name and a date; two accurate functions tag both right, a noisy one tags the
    date as a NAME on about a third of the rows (a label the accurate ones use elsewhere)."""
    rng, noisy_rng = random.Random(seed), random.Random(seed + 1)
    texts, truth = [], []
    for i in range(n):
        nm, d = rng.choice(["Ana", "Luis", "Marta", "Pedro"]), f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/20{rng.randint(10, 23)}"
        t = f"Visita {i} de {nm} el {d} sin incidencias."
        texts.append(t)
        truth.append([Span(t.index(nm), t.index(nm) + len(nm), "NAME"), Span(t.index(d), t.index(d) + len(d), "DATE")])
    row = {t: i for i, t in enumerate(texts)}
    acc = lambda t: truth[row[t]]

    def noisy(t):
        name, date = truth[row[t]]
        return [name, Span(date.start, date.end, "NAME")] if noisy_rng.random() < 0.33 else [name, date]
    return texts, truth, [LabellingFunction("acc1", acc), LabellingFunction("acc2", acc), LabellingFunction("noisy", noisy)]


@pytest.mark.parametrize("method", ["vote", "hmm"])
def test_two_accurate_functions_outvote_a_noisy_one(method):
    texts, truth, lfs = _outvote_case()
    votes = apply_lfs(texts, lfs, log=lambda m: None)
    assert sum(sp.type == "NAME" for row in votes.spans["noisy"] for sp in row) > 350  # it did disagree, often
    spans, confs = aggregate(votes, LabelModelConfig(method), log=lambda m: None)
    assert spans == truth
    assert all(0 <= c <= 1 for c in confs)
    refs = [annotate(t, s) for t, s in zip(texts, truth)]
    report = lf_report(votes, refs)
    assert report.loc["acc1", "precision"] == 1.0 and report.loc["noisy", "precision"] < 0.9
    assert report.loc["noisy", "conflicts"] > 0.1 and report.loc["acc1", "overlaps"] == 1.0


TRICKY = ["Fecha:  14/04/2017,\tsin \"comillas\"; Médico: Dra. Ana López.",
          "Línea uno\nNHC: 3271693.",
          "Sin nada que marcar, ni siquiera una fecha.",
          "E-mail: a.b@c.es, Tel: 955 012 000 — ok"]


@pytest.mark.parametrize("method", ["vote", "hmm"])
def test_silver_csv_round_trips(tmp_path, method):
    votes = apply_lfs(TRICKY * 5, builtin_lfs(), log=lambda m: None)
    spans, confs = aggregate(votes, LabelModelConfig(method), log=lambda m: None)
    df = silver_pairs(votes, spans, confs)
    path = tmp_path / "silver.csv"
    df.to_csv(path, index=False)
    back = read_pairs(path, verbose=False)
    assert back.orig_text.tolist() == TRICKY * 5
    assert all(strip_tags(a) == o for o, a in zip(back.orig_text, back.annotated_text))
    assert [parse(a)[1] for a in back.annotated_text] == [sorted(s) for s in spans]
    assert sum(len(s) for s in spans) > 0
    assert pd.read_csv(path).confidence.between(0, 1).all()


def test_silver_skips_marker_like_text():
    votes = apply_lfs(["NHC: 3271693 {{DATE}}x{{/DATE}}", "NHC: 3271693."], builtin_lfs(["context"]), log=lambda m: None)
    logs = []
    df = silver_pairs(votes, *aggregate(votes, LabelModelConfig("vote"), log=logs.append), log=logs.append)
    assert df.orig_text.tolist() == ["NHC: 3271693."] and "1 rows skipped" in logs[-1]


def test_gazetteers_from_csv_and_back(tmp_path):
    csv = tmp_path / "gold.csv"
    pd.DataFrame({"annotated_text": ["Nombre: {{NAME:PATIENT}}Lidia Casas{{/NAME:PATIENT}}.",
                                     "Vive en {{LOCATION:CITY}}Getafe{{/LOCATION:CITY}} con {{NAME:PATIENT}}Lidia Casas{{/NAME:PATIENT}}.",
                                     ""]}).to_csv(csv, index=False)
    res = gazetteers_from_csv(csv, tmp_path / "gaz")
    assert {t: n for t, (_, n) in res.items()} == {"LOCATION:CITY": 1, "NAME:PATIENT": 1}
    typ, entries = read_gazetteer(res["NAME:PATIENT"][0])
    assert typ == "NAME:PATIENT" and entries == ["Lidia Casas"]
    lf = gazetteer_lf("names", entries + ["Lidia"], typ)
    text = "Lidia Casas vino; Lidia también; Lidiana no."
    assert [(text[s:e], t) for s, e, t in lf(text)] == [("Lidia Casas", typ), ("Lidia", typ)]
    with pytest.raises(ValueError, match="no type"): read_gazetteer(tmp_path / "gold.csv")


def test_family_scores_and_report_with_gold():
    texts = ["NHC: 3271693.", "Edad: 35 años Sexo: H."]
    refs = ["NHC: {{ID:MEDICALRECORD}}3271693{{/ID:MEDICALRECORD}}.", "Edad: {{AGE}}35 años{{/AGE}} Sexo: H."]
    votes = apply_lfs(texts, builtin_lfs(["regex", "context"]), log=lambda m: None)
    fam = family_scores(votes, refs)
    assert fam.loc["context", "f1"] == 1.0
    assert fam.loc["regex", "precision"] == 0.5 and fam.loc["regex", "recall"] == 0.5  # 3271693 as ID: no subtype, wrong
    rep = lf_report(votes, refs)
    assert rep.loc["medical_record", "recall"] == 0.5 and rep.loc["id_long_number", "precision"] == 0.0
    assert rep.loc["id_long_number", "conflicts"] == 1.0 and rep.loc["age_years", "overlaps"] == 1.0


def test_script_writes_silver_and_report(tmp_path, capsys):
    from seq2seq.commands.weak_label import main
    csv = tmp_path / "in.csv"
    refs = ["NHC: {{ID:MEDICALRECORD}}3271693{{/ID:MEDICALRECORD}}.", "Sin datos.", "",
            "Médico: {{NAME:DOCTOR}}Ana López{{/NAME:DOCTOR}}  Cama 214."]
    pd.DataFrame({"text": [strip_tags(r) for r in refs], "gold": refs}).to_csv(csv, index=False)
    out = tmp_path / "silver.csv"
    main(["--csv", str(csv), "--out", str(out), "--text-col", "text", "--ref", "gold", "--label-model", "vote",
          "--lf", str(ROOT / "data" / "example_lfs.py")])
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["rows"] == 4 and res["empty"] == 1 and res["written"] == 3
    silver = pd.read_csv(out, keep_default_na=False)
    assert list(silver.columns) == ["orig_text", "annotated_text", "confidence"]
    assert "{{LOCATION:ROOM}}214{{/LOCATION:ROOM}}" in silver.annotated_text[2]
    report = pd.read_csv(str(out) + ".report.csv", index_col=0)
    assert {"coverage", "overlaps", "conflicts", "errors", "precision", "recall"} <= set(report.columns)
    assert report.loc["room_number", "family"] == "user"


def test_script_errors_are_one_line(tmp_path, capsys):
    from seq2seq.commands.weak_label import main
    from seq2seq.commands.cli import run
    csv = tmp_path / "in.csv"
    pd.DataFrame({"orig_text": ["a"]}).to_csv(csv, index=False)
    bad = tmp_path / "lfs.py"
    bad.write_text("raise SystemError('broken on purpose')\n")
    assert run(main, ["--csv", str(csv), "--out", str(tmp_path / "o.csv"), "--lf", str(bad)]) == 2
    assert "failed to import: SystemError: broken on purpose" in capsys.readouterr().err
    assert run(main, ["--csv", str(csv), "--out", str(tmp_path / "o.csv"), "--text-col", "nope"]) == 2
    assert "no column 'nope'" in capsys.readouterr().err


def test_weak_labels_train_predict_end_to_end(tmp_path):
    "Weak labels on sample rows -> train one epoch -> the model decodes and serves as a labelling function."
    from seq2seq.models.config import ModelConfig
    from seq2seq.training.config import TrainConfig
    from seq2seq.training.job import train
    from seq2seq.utils import seed_everything
    texts = pd.read_csv(ROOT / "data" / "sample.csv").orig_text.iloc[:160].tolist()
    votes = apply_lfs(texts, builtin_lfs(["regex", "context"]), log=lambda m: None)
    spans, confs = aggregate(votes, LabelModelConfig("vote"), log=lambda m: None)
    silver = silver_pairs(votes, spans, confs)
    assert silver.annotated_text.str.contains("{{", regex=False).sum() > 20
    silver.to_csv(tmp_path / "silver.csv", index=False)
    seed_everything(0)
    train(TrainConfig(csv=str(tmp_path / "silver.csv"), out=str(tmp_path / "m"), epochs=1, lr=1e-2, bs=32,
                      decode_limit=0, model=ModelConfig(emb_size=16, hidden=16, layers=1)), log=lambda *a: None)
    lf = model_lf(tmp_path / "m" / "model.safetensors")
    votes = apply_lfs(texts[:10] + [""], [lf], log=lambda m: None)
    assert len(votes.spans["model"]) == 11 and votes.spans["model"][-1] == []
    assert votes.errors["model"] == 0


@pytest.mark.slow
def test_meddocan_train_sample_quality(corpora):
    "On a train sample (never dev), the vote of the built-in functions is precise and covers most spans."
    df = pd.read_csv(corpora / "meddocan" / "train.csv").sample(600, random_state=1)
    votes = apply_lfs(df.orig_text.tolist(), builtin_lfs(), log=lambda m: None)
    spans, _ = aggregate(votes, LabelModelConfig("vote"), log=lambda m: None)
    from seq2seq.weak.functions import gold_spans, span_prf
    res = span_prf(spans, gold_spans(df.annotated_text.tolist()))
    assert res["precision"] > 0.8 and res["recall"] > 0.7


def test_benchmark_on_a_tiny_corpus(tmp_path, capsys):
    "benchmarks/weak.py end to end on a made-up MEDDOCAN folder: the label rows, then its JSON line."
    from benchmarks import weak as bench
    rows = ["NHC: {{ID:MEDICALRECORD}}3271693{{/ID:MEDICALRECORD}}.", "Edad: {{AGE}}35 años{{/AGE}} Sexo: H.",
            "Nombre: {{NAME:PATIENT}}Lidia{{/NAME:PATIENT}}.", "Sin datos personales.",
            "{{LOCATION:ZIP}}29009{{/LOCATION:ZIP}} {{LOCATION:CITY}}Málaga{{/LOCATION:CITY}}."] * 8
    folder = tmp_path / "corpora" / "meddocan"
    folder.mkdir(parents=True)
    for name in ("train.csv", "dev.csv"):
        pd.DataFrame({"orig_text": [strip_tags(r) for r in rows], "annotated_text": rows}).to_csv(folder / name, index=False)
    res = bench.main(["--shared", str(tmp_path), "--out", str(tmp_path / "out")])
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["f1"]["(2) majority vote"] == res["rows"]["(2) majority vote"]["f1"] > 0.9
    assert {"(1) family: regex", "(1) family: context", "(3) HMM label model"} <= set(last["f1"])
    silver = read_pairs(tmp_path / "out" / "silver_train.csv", verbose=False)
    assert len(silver) == len(rows) and (tmp_path / "out" / "weak.md").is_file()
    with pytest.raises(ValueError, match="MEDDOCAN not found"):
        bench.main(["--shared", str(tmp_path / "none"), "--out", str(tmp_path / "o2")])


def test_command_line_checks_its_options(tmp_path, capsys):
    from seq2seq.commands.weak_label import parse_args
    a, cfg = parse_args(["--csv", "in.csv", "--out", "o.csv", "--label-model", "vote", "--n-iter", "2", "--lf", "a.py",
                         "--lf", "b.py", "--builtin", "context"])
    assert (cfg.label_model.method, cfg.label_model.n_iter, cfg.lf_files, cfg.families) == ("vote", 2, ["a.py", "b.py"], ["context"])
    for bad, flag in ((["--min-confidence", "2"], "--min-confidence"), (["--builtin", "regex,bogus"], "--builtin"),
                      (["--n-iter", "0"], "--n-iter")):
        with pytest.raises(SystemExit) as e: parse_args(["--csv", "in.csv", "--out", "o.csv"] + bad)
        assert e.value.code == 2 and flag in capsys.readouterr().err


def test_benchmark_end_models_take_the_training_options_and_defaults(capsys):
    from benchmarks import weak as bench
    from seq2seq.training.config import TrainConfig
    a = bench._parse(["--epochs", "3", "--emb-size", "32", "--no-ctx-skip"])
    cfg = a.end("s.csv", "m")
    assert (cfg.epochs, cfg.model.emb_size, cfg.model.ctx_skip, cfg.csv, cfg.lang, cfg.threads) == (3, 32, False, "s.csv", "es", 1)
    assert bench._parse([]).end("s.csv", "m").model == TrainConfig().model  # the end model is train.py's default
    with pytest.raises(SystemExit) as e: bench._parse(["--hidden", "0"])
    assert e.value.code == 2 and "--hidden" in capsys.readouterr().err


def test_family_spans_resolve_same_offset_ties_by_type_whatever_the_order():
    from seq2seq.weak.functions import Votes, family_spans
    a, b = Span(0, 4, "DATE"), Span(0, 4, "AGE")
    for order in ([a, b], [b, a]):
        v = Votes(["2020 x"], spans={"f": [order[:1]], "g": [order[1:]]}, families={"f": "regex", "g": "regex"})
        assert family_spans(v, "regex") == [[Span(0, 4, "AGE")]]
