"""The service's options: limits checked, and no binding beyond localhost without an API key."""
import pytest

from seq2seq.config import ConfigError
from seq2seq.serve.config import ServeConfig


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_local_hosts_need_no_key(host):
    assert ServeConfig(host=host).local


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.org", "::"])
def test_other_hosts_need_a_key(host):
    with pytest.raises(ConfigError, match="reachable from other machines"):
        ServeConfig(host=host)
    assert not ServeConfig(host=host, api_key_file="key.txt").local


@pytest.mark.parametrize("field,value", [("max_batch", 0), ("max_body_bytes", 0), ("max_texts", 0), ("max_chars", 0),
                                         ("request_timeout", 0), ("port", 70000), ("max_wait_ms", -1),
                                         ("redact", "blur"), ("mask_char", "**")])
def test_bad_values_name_their_option(field, value):
    with pytest.raises(ConfigError, match=field):
        ServeConfig(**{field: value})


def test_a_request_redaction_takes_the_servers_policy_and_key(tmp_path):
    from seq2seq.config import ConfigError
    from seq2seq.deid.keys import new_key_file
    from seq2seq.deid.redact import REDACT_MODES, redact
    from seq2seq.serve.config import _REDACT_MODES
    from seq2seq.serve.redaction import redact_config
    from seq2seq.text.tags import ScoredSpan
    assert _REDACT_MODES == REDACT_MODES  # the light copy of the modes
    text, spans = "Seen by Dr. Smith.", [ScoredSpan(12, 17, "NAME:DOCTOR", .9)]
    plain = ServeConfig()
    with pytest.raises(ConfigError, match="key"):  # hash needs the server's key
        redact_config(plain, "hash")
    key = tmp_path / "k"
    new_key_file(key)
    policy = tmp_path / "p.yaml"
    policy.write_text("NAME: hash\n")
    cfg = ServeConfig(key_file=str(key), redact_policy=str(policy))
    red = redact_config(cfg, "mask", seed=3)
    assert red.mode == "mask" and red.seed == 3 and red.operator("NAME:DOCTOR") == "hash" and red.operator("DATE") == "mask"
    out = redact(text, spans, red)
    assert "Smith" not in out and out.startswith("Seen by Dr. [NAME") and out == redact(text, spans, redact_config(cfg, "mask"))
    assert str(key.read_bytes()) not in repr(red)
