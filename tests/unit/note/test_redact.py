import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.redact import MARK, contains_secret, redact

SECRET_CASES = [
    # (text, secret that must vanish, text that must stay)
    (
        'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" '
        'password="alice-secret";',
        "alice-secret",
        "sasl.jaas.config=",
    ),
    (
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="bob" password="b0b-pw";',
        "b0b-pw",
        "ScramLoginModule required",
    ),
    ("ssl.truststore.password=changeit ssl.protocol=TLSv1.3", "changeit", "ssl.protocol=TLSv1.3"),
    ("ssl.keystore.password: ks-pass-99", "ks-pass-99", "ssl.keystore.password"),
    ('{"api_key": "k-123456", "user": "x"}', "k-123456", '"user": "x"'),
    ("password.encoder.secret=enc0der", "enc0der", "password.encoder.secret="),
    (
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "eyJhbGciOiJIUzI1NiJ9",
        "Authorization",
    ),
    (
        'curl -H "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l" http://x',
        "YWxhZGRpbjpvcGVuc2VzYW1l",
        "curl -H",
    ),
    ("fetch token=abcdef0123456789 done", "abcdef0123456789", "done"),
    ("GET http://admin:hunter2@prometheus:9090/api/v1/query", "hunter2", "http://admin:"),
    ("key sk-ant-api03-AbCdEfGhIjKlMnOp in a log", "sk-ant-api03-AbCdEfGhIjKlMnOp", "in a log"),
    ("aws AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE", "used"),
    ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----", "MIIEvQIBADANBg", ""),
    ("client_secret = 'quoted secret'", "quoted secret", "client_secret"),
]


@pytest.mark.parametrize(("text", "secret", "kept"), SECRET_CASES)
def test_secret_values_are_redacted_and_keys_kept(text, secret, kept):
    out = redact(text)
    assert secret not in out
    assert MARK in out
    assert kept in out
    assert contains_secret(text)


@pytest.mark.parametrize(
    "text",
    [
        "[2026-11-01 12:07:32,000] INFO [Partition t-0 broker=1] Shrinking ISR from 1,2,3 to 1,3.",
        "Rolled new log segment at offset 42 in 1 ms. (kafka.log.LocalLog)",
        'kafka_server_replicamanager_underreplicatedpartitions{broker="1"}',
        "http://127.0.0.1:9090/api/v1/query_range?query=up&step=15",
        "ssl.key.password = [hidden]",  # Kafka already hides it; keep its own marker
        "sasl.jaas.config = [hidden]",
        "max.poll.interval.ms = 300000",
    ],
)
def test_ordinary_lines_are_unchanged(text):
    assert redact(text) == text
    assert not contains_secret(text)


def test_none_and_empty():
    assert redact(None) == ""
    assert redact("") == ""


@given(st.text(max_size=200))
def test_redaction_is_idempotent(text):
    once = redact(text)
    assert redact(once) == once
