"""seq2seq/deid/ids.py: format-preserving identifiers that keep the checks the original passes."""
import random

import pytest
from stdnum import luhn
from stdnum.es import dni, nie

from seq2seq.deid.ids import id_surrogate, same_shape, shape_of


@pytest.mark.parametrize("original, type", [
    ("603-13-973", "ID:MEDICALRECORD"), ("5467980", "ID:MEDICALRECORD"), ("(617) 555-0199", "CONTACT:PHONE"),
    ("28 28 20943", "ID:LICENSE"), ("AB-1234-cd", "ID:IDNUM"), ("28035", "LOCATION:ZIP"), ("1636HO", "LOCATION:ZIP")])
def test_same_length_classes_and_separators(original, type):
    for seed in range(20):
        new = id_surrogate(original, random.Random(seed), type)
        assert new != original and len(new) == len(original) and shape_of(new) == shape_of(original)


def test_shape_of():
    assert shape_of("Ab-12 ñ/") == "Aa-99 ñ/" and shape_of(same_shape("Xy-3.4", random.Random(0))) == "Aa-9.9"


def test_a_phone_keeps_its_country_code():
    for seed in range(10):
        new = id_surrogate("+34 91 123 45 67", random.Random(seed), "CONTACT:PHONE")
        assert new.startswith("+34 ") and new != "+34 91 123 45 67" and shape_of(new) == shape_of("+34 91 123 45 67")


@pytest.mark.parametrize("original, valid", [("12345678Z", dni.is_valid), ("12345678-z", dni.is_valid),
                                             ("X1234567L", nie.is_valid),
                                             ("4111 1111 1111 1111", lambda s: luhn.is_valid(s.replace(" ", "")))])
def test_a_check_the_original_passes_the_surrogate_passes(original, valid):
    assert valid(original)
    for seed in range(30):
        new = id_surrogate(original, random.Random(seed), "ID:IDNUM")
        assert valid(new) and new != original and len(new) == len(original), new
        assert shape_of(new) == shape_of(original) or original.startswith("X")    # a NIE may start with Y or Z


def test_a_number_that_passes_no_check_is_only_shaped():
    # 12345678A is not a valid DNI: the surrogate is free (its letter is random, any DNI validity is chance)
    news = {id_surrogate("12345678A", random.Random(s), "ID:IDNUM") for s in range(40)}
    assert not all(dni.is_valid(n) for n in news)


def test_spanish_zip_codes_stay_in_a_province():
    for seed in range(30):
        new = id_surrogate("28035", random.Random(seed), "LOCATION:ZIP")
        assert 1 <= int(new[:2]) <= 52


def test_avoid_and_nothing_to_change():
    assert id_surrogate("--", random.Random(0), "ID:IDNUM") is None               # no digit or letter to change
    for seed in range(10):
        new = id_surrogate("12", random.Random(seed), "ID:IDNUM", avoid=lambda s: s.startswith("1"))
        assert new[0] != "1" and len(new) == 2
