"""seq2seq/deid/crypto.py: encrypted spans decrypt with the key and only with it."""
import pytest

from seq2seq.deid.crypto import TOKEN_RE, DecryptError, check_plain, decrypt_text, encrypt_span
from seq2seq.deid.keys import Key
from seq2seq.errors import UserError

K, OTHER = Key(b"k" * 32, "k.key"), Key(b"o" * 32, "o.key")


def test_round_trip_deterministic_and_one_word():
    tok = encrypt_span(K, "NAME:PATIENT", "Ana\r\nRuíz \ufeff")
    assert tok == encrypt_span(K, "NAME:PATIENT", "Ana\r\nRuíz \ufeff") != encrypt_span(OTHER, "NAME:PATIENT", "Ana\r\nRuíz \ufeff")
    assert TOKEN_RE.fullmatch(tok) and " " not in tok and "Ana" not in tok
    text = f"Paciente {tok}, visto el {encrypt_span(K, 'DATE', '3/4/2015')}."
    assert decrypt_text(K, text) == ("Paciente Ana\r\nRuíz \ufeff, visto el 3/4/2015.", 2)


def test_wrong_key_or_altered_token_is_a_clear_error():
    text = "x " + encrypt_span(K, "DATE", "3/4/2015")
    with pytest.raises(DecryptError, match="offset 2 does not decrypt with --key-file o.key"):
        decrypt_text(OTHER, text, "note.txt")
    moved = text.replace("[ENC:DATE:", "[ENC:AGE:")        # the type is authenticated too
    with pytest.raises(DecryptError):
        decrypt_text(K, moved)


def test_a_note_holding_a_token_shape_is_refused():
    check_plain("nothing here [ENC] [DATE]", "n")
    with pytest.raises(UserError, match="shaped like an encrypted span"):
        check_plain("see [ENC:DATE:ABCDEF]", "n")
