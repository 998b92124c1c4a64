"""Entities from a Kafka message: its context ident (`[Partition t-0 broker=1] `) and rule captures.

Conventions (../shared/notes/kafka-log-classes.md): `broker` is the subject broker when the line
names one, else the emitting broker from the ident; client coordinator ids 2147483647-N become N;
negative (bootstrap) ids give None; topic/partition only when exactly one topic-partition is named,
split at the last '-'; the coordinator partition of a group is never recorded.
"""

from __future__ import annotations

import re
from typing import Any

_IDENT_KV = re.compile(r"(\w{1,40})=([^,\s\]]{1,1000})")
_NUM = re.compile(r"\d{1,10}")
_TRAILING = ".,:;)"
COORDINATOR_BASE = 2147483647  # clients print coordinator node ids as Integer.MAX_VALUE - brokerId

# ident name -> key whose value is the emitting broker
_BROKER_KEYS = ("broker", "brokerId", "nodeId", "id", "replicaId", "node")
_PARTITION_IDENTS = ("Partition",)  # `[Partition t-0 broker=1]`: the positional tp is the subject
_LOG_IDENTS = (
    "Log",
    "UnifiedLog",
    "LocalLog",
    "LogLoader",
    "LogSegment",
    "ProducerStateManager",
    "LeaderEpochCache",
    "LogCleanerManager",
)


def split_ident(message: str) -> tuple[str, str, str]:
    """(`ident` content, ident name, body after the ident) of a message; '' parts when none."""
    if not message.startswith("["):
        return "", "", message
    close = message.find("]", 1, 400)
    if close < 0:
        return "", "", message
    ident = message[1:close]
    rest = message[close + 1 :]
    if rest.startswith(":"):
        rest = rest[1:]
    if rest.startswith(" "):
        rest = rest[1:]
    return ident, ident_name(ident), rest


def ident_name(ident: str) -> str:
    end = len(ident)
    for sep in (" ", "=", ","):
        k = ident.find(sep)
        if 0 <= k < end:
            end = k
    return ident[:end]


_IDENT_CACHE: dict[str, dict[str, Any]] = {}


def ident_entities(ident: str) -> dict[str, Any]:
    """Entities an ident carries (cached: idents repeat on almost every line)."""
    hit = _IDENT_CACHE.get(ident)
    if hit is not None:
        return hit
    if len(_IDENT_CACHE) > 20_000:
        _IDENT_CACHE.clear()
    out: dict[str, Any] = {}
    name = ident_name(ident)
    kv = dict(_IDENT_KV.findall(ident)) if "=" in ident else {}
    for key in _BROKER_KEYS:
        if key in kv:
            out["broker"] = to_broker(kv[key])
            break
    if "leaderId" in kv:
        out["peer"] = to_broker(kv["leaderId"])
    if "groupId" in kv:
        out["group"] = kv["groupId"]
    if "dir" in kv:
        out["log_dir"] = kv["dir"].rstrip(_TRAILING)
    if name in _LOG_IDENTS and "partition" in kv:
        out.update(split_tp(kv["partition"]))
    words = ident.split(" ")
    if name in _PARTITION_IDENTS and len(words) > 1 and "=" not in words[1]:
        out.update(split_tp(words[1]))
    elif "broker" not in out and len(words) > 1 and words[-1].isdigit():
        # `[GroupCoordinator 1]`, `[Controller 1]`, `[Kafka Server 1]`, `[TransactionCoordinator id=1]`
        out["broker"] = to_broker(words[-1])
    if "broker" not in out and "-" in name:
        parts = name.split("-")
        if parts[0] in ("KafkaApi", "ExpirationReaper") and len(parts) > 1 and parts[1].isdigit():
            out["broker"] = to_broker(parts[1])  # `[KafkaApi-1]`, `[ExpirationReaper-1-Fetch]`
        elif parts[0] == "ReplicaFetcherThread" and len(parts) == 3 and parts[2].isdigit():
            out["peer"] = to_broker(parts[2])  # `[ReplicaFetcherThread-0-2]`: fetching from 2
    _IDENT_CACHE[ident] = out
    return out


def to_broker(value: str | None) -> str | None:
    """A broker id as text; negative ids (bootstrap nodes) and non-numbers give None."""
    if value is None:
        return None
    v = value.strip().rstrip(_TRAILING)
    if not v.isdigit():
        return None
    n = int(v)
    if n >= COORDINATOR_BASE - 100_000:
        n = COORDINATOR_BASE - n
    return str(n)


def split_tp(value: str) -> dict[str, Any]:
    """`orders-3` -> topic `orders`, partition 3; redacted or odd values give nothing."""
    v = value.strip().rstrip(_TRAILING)
    if v.startswith("[") and v.endswith("]") and "," in v:  # 0.x `[topic,partition]`
        topic, _, part = v[1:-1].rpartition(",")
    else:
        topic, _, part = v.rpartition("-")
    if not topic or not part.isdigit() or len(part) > 10:
        return {}
    return {"topic": topic, "partition": int(part)}


def ids(value: str | None) -> list[int] | None:
    if value is None:
        return None
    return [int(x) for x in _NUM.findall(value)]


def from_match(groups: dict[str, str | None]) -> dict[str, Any]:
    """Entities from a rule's named captures (None captures are skipped)."""
    out: dict[str, Any] = {}
    for key, value in groups.items():
        if value is None:
            continue
        if key == "broker" or key == "coord":
            b = to_broker(value)
            if b is not None or key == "broker":
                out["broker"] = b
        elif key == "brokers":
            found = ids(value) or []
            if len(found) == 1:
                out["broker"] = str(found[0])
        elif key == "peer":
            out["peer"] = to_broker(value)
        elif key == "tp":
            tp = split_tp(value)
            out.update(tp if tp else {"topic": None, "partition": None})
        elif key == "partition":
            v = value.strip()
            if v.isdigit():
                out["partition"] = int(v)
        elif key in ("isr_from", "isr_to"):
            out[key] = ids(value)
        elif key == "log_dir":
            out["log_dir"] = value.rstrip(_TRAILING)
        elif key in ("topic", "group", "member"):
            out[key] = value.rstrip(_TRAILING) if key != "group" else value.rstrip(",:;")
    return out
