"""Strip secrets from text before it leaves the process (LLM prompts, notes, UI, MCP).

Kafka logs and configs carry secrets in a few well-known shapes: JAAS/SASL configs
(`sasl.jaas.config=... password="..."`), `*.password=` properties, bearer/basic
Authorization headers, URLs with user:password@, PEM private keys and vendor tokens.
Each rule below keeps the key and replaces only the value, so the redacted text still
says *what* was there. Kafka itself prints `[hidden]` for some of these; that is kept.

`redact` is idempotent and never raises; it is applied to every untrusted string the
note shows or sends.
"""

from __future__ import annotations

import re

MARK = "[REDACTED]"

# Property-style keys whose value is a secret (Kafka, JVM, cloud SDKs, generic).
_SECRET_KEY = (
    r"(?:[A-Za-z0-9_.\-]*?(?:password|passwd|pwd|passphrase|secret|token|api[_.\-]?key|apikey|access[_.\-]?key"
    r"|private[_.\-]?key|client[_.\-]?secret|credentials?|auth[_.\-]?key|session[_.\-]?key))"
)

_RULES: list[tuple[re.Pattern[str], str]] = [
    # PEM blocks (private keys, certificates with keys) as a whole.
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
        MARK,
    ),
    # The whole value of a JAAS config property, up to its terminating ';' or end of line.
    (
        re.compile(r"(?i)(sasl\.jaas\.config\s*[=:]\s*+)(?!\[hidden\])[^\n;]*(?:;|$)", re.M),
        r"\1" + MARK,
    ),
    # A JAAS login-module entry outside a property: keep the module, hide its options.
    (
        re.compile(r"(?i)(\b[\w.]+LoginModule\s+(?:required|requisite|sufficient|optional))\s+[^;\n]*;?"),
        r"\1 " + MARK + ";",
    ),
    # Authorization headers and bare bearer tokens.
    (
        re.compile(r"(?i)\b(authorization\s*[:=]\s*)(?:\"|')?(?:bearer|basic|token|apikey)?\s*[^\s\"',;]+"),
        r"\1" + MARK,
    ),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]{8,}=*"), r"\1" + MARK),
    # URLs with credentials: scheme://user:password@host -> scheme://user:[REDACTED]@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]*):[^/\s@]+@"), r"\1:" + MARK + "@"),
    # key="value" / key='value' / "key": "value" (JSON, YAML, JAAS options)
    (
        re.compile(r"(?i)(\"?\b" + _SECRET_KEY + r"\"?\s*[=:]\s*+)(\"|')(?!\[hidden\])(?:\\.|(?!\2).)*\2"),
        r"\1\2" + MARK + r"\2",
    ),
    # key=value / key: value / key = value, unquoted, up to whitespace, comma, ';' or a closing bracket.
    (
        re.compile(
            r"(?i)(\b"
            + _SECRET_KEY
            + r"\s*(?:=|:(?!//))\s*+)(?!\[hidden\]|null\b|\[REDACTED\]|\"|')[^\s,;)\]}\"']+"
        ),
        r"\1" + MARK,
    ),
    # Vendor token shapes that show up without a key in front of them.
    (re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{10,}"), MARK),
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{20,}"), MARK),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), MARK),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"), MARK),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"), MARK),
    (re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}"), MARK),
    # JSON Web Tokens: three base64url parts, the first two starting with '{"' encoded.
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}"), MARK),
]


def redact(text: str | None) -> str:
    """Return `text` with every secret value replaced by `[REDACTED]`."""
    if not text:
        return ""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def contains_secret(text: str) -> bool:
    """True when `redact` would change `text` (for assertions and audits)."""
    return redact(text) != text
