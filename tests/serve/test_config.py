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
