"""Split one physical log line into its layout parts: time, level, message, logger.

Kafka's own layout (`[%d] %p %m (%c)`) is the fast path; the wrappers users bring (Strimzi,
docker-compose prefixes, Docker json-file records, logstash JSON, Spring Boot, logback, Quarkus,
kafka-python) and JVM GC logs are recognised after it. A line with none of these layouts is a
continuation line (exception, `\\tat ...` frame, config-dump entry) or foreign text.

Untrusted input: every pattern here is linear-time (no nested quantifiers, bounded repeats), lines
are cut to `MAX_LINE` characters before matching, and control characters, ANSI escapes and lone
surrogates (invalid UTF-8 decoded with `surrogateescape`) are cleaned first.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

MAX_LINE = 16_384  # characters of a line that are parsed; the rest is kept only in the event text

LOG4J = "log4j"  # a record header in a known layout (level and message found)
GC = "gc"  # a JVM GC log line
TRAILER = "trailer"  # ` (kafka.log.LogCleaner)`: the last line of a multi-line log4j message
PLAIN = "plain"  # no layout: continuation line or foreign text

_LEVELS = {
    "TRACE": "TRACE",
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "WARN": "WARN",
    "ERROR": "ERROR",
    "FATAL": "ERROR",
    "WARNING": "WARN",
    "CRITICAL": "ERROR",
    "SEVERE": "ERROR",
    "FINE": "DEBUG",
    "FINER": "TRACE",
    "FINEST": "TRACE",
    "CONFIG": "INFO",
    "NOTICE": "INFO",
    "ERR": "ERROR",
    "trace": "TRACE",
    "debug": "DEBUG",
    "info": "INFO",
    "warning": "WARN",
    "warn": "WARN",
    "error": "ERROR",
}

_ANSI = re.compile(r"\x1b\[[0-9;?]{0,32}[ -/]{0,4}[@-~]|\x1b[@-Z\\-_]")
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x1b]")
_SURROGATE = re.compile("[\ud800-\udfff]")

_KAFKA = re.compile(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] ([A-Z]{4,5}) ")
_LOGGER = re.compile(r"[\w.$-]{1,300}")
# Strimzi: `%d{ISO8601} %p %m (%c) [%t]`; also plain log4j `%d %p %m (%c)` without brackets
_ISO_LEVEL = re.compile(r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.]\d{3}) {1,2}([A-Z]{4,7}) {1,2}")
# kafka-python / Python logging: `2024-01-01 12:00:00,123 - kafka.coordinator - WARNING - msg`
_PYLOG = re.compile(
    r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[,.]\d{3,6})?) - ([\w.$-]{1,300}) - ([A-Z]{4,8}) - "
)
_PY_NAME = re.compile(r"([a-z_]\w{0,60}(?:\.\w{1,60}){1,8}) ")
# Spring Boot: `2021-05-11 11:31:38.348  WARN 13176 --- [thread] o.a.k.c.NetworkClient   : msg`
_SPRING = re.compile(
    r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[.,]\d{3}[\d+:Z-]{0,10}) {1,3}([A-Z]{4,7}) {1,3}\d{1,10} --- "
    r"(?:\[[^\]\n]{0,200}\] {0,60}){1,3}([\w.$\[\]-]{1,300}) {0,80}: "
)
# Quarkus: `2021-... ERROR [org.apa.kaf.sto.int.log.LogDirFailureChannel] (thread) msg`
_QUARKUS = re.compile(
    r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.]\d{3}) {1,2}([A-Z]{4,7}) {1,2}"
    r"\[([\w.$-]{1,300})\] \([^)\n]{0,200}\) "
)
# logback default: `12:34:56.789 [thread] WARN  org.apache.kafka.clients.NetworkClient - msg`
_LOGBACK = re.compile(
    r"((?:\d{4}-\d\d-\d\d[ T])?\d\d:\d\d:\d\d[.,]\d{3}) \[[^\]\n]{0,200}\] "
    r"([A-Z]{4,5}) {1,2}([\w.$-]{1,300}) {0,40}- "
)
# JVM unified logging: `[time][uptime][level][tags] msg`, any subset of decorators
_GC_UNIFIED = re.compile(r"((?:\[[^\[\]\n]{1,64}\]){1,6}) ?")
_GC_TAGS = re.compile(r"(?:gc|safepoint)[\w,]{0,60}")
_GC_JDK8 = re.compile(
    r"(?:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}): )?(?:\d{1,12}\.\d{3}: )?"
    r"(?=\[GC|\[Full GC|Total time for which application threads were stopped)"
)
# java.util.logging SimpleFormatter (e.g. the JMX exporter agent on stdout): a head line
# `Dec 04, 2026 11:42:40 PM io.prometheus...HttpExchangeAdapter method`, then `SEVERE: msg`.
_JUL_HEAD = re.compile(
    r"((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4} \d{1,2}:\d\d:\d\d [AP]M) "
    r"([\w.$]{1,300}) [\w$<>]{1,200}"
)
_JUL_LEVEL = re.compile(r"(SEVERE|WARNING|INFO|CONFIG|FINE|FINER|FINEST): ")
_COMPOSE = re.compile(r"[\w.@-]{1,128} {0,40}\| ")
_TRAILER = re.compile(r"\s{0,8}\(([\w.$-]{1,300})\)\s{0,8}")


class Envelope(NamedTuple):
    kind: str
    ts: datetime | None
    level: str | None  # normalised: TRACE/DEBUG/INFO/WARN/ERROR
    message: str
    logger: str | None


_tuple_new = tuple.__new__


def _env(kind: str, ts: datetime | None, level: str | None, message: str, logger: str | None) -> Envelope:
    # tuple.__new__ skips the NamedTuple's Python-level __new__: this runs once per log line.
    return _tuple_new(Envelope, (kind, ts, level, message, logger))


def clean(line: str | bytes) -> str:
    """Text safe to match and to store: str, no line break, no control characters or ANSI codes."""
    if type(line) is not str:
        if isinstance(line, bytes | bytearray):
            line = bytes(line).decode("utf-8", "replace")
        else:
            line = "" if line is None else str(line)
    if line.isprintable():  # the common case: nothing to clean
        return line
    if not line.isascii() and _SURROGATE.search(line):
        line = line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        line = _SURROGATE.sub("\ufffd", line)
    if line.endswith("\n"):
        line = line.rstrip("\r\n")
    if _CTRL.search(line):
        if "\x1b" in line:
            line = _ANSI.sub("", line)
        line = _CTRL.sub(" ", line)
    return line


def parse(line: str) -> Envelope:
    """Layout parts of a cleaned line (see `clean`)."""
    text = line if len(line) <= MAX_LINE else line[:MAX_LINE]
    first = text[:1]
    if first == "[":
        m = _KAFKA.match(text)
        if m and m.group(2) in _LEVELS:
            return _with_logger(_kafka_ts(m.group(1)), m.group(2), text[m.end() :])
        return _gc_unified(text) or _env(PLAIN, None, None, text, None)
    if "0" <= first <= "9":
        return _dated(text) or _env(PLAIN, None, None, text, None)
    if first == "{":
        env = _json(text)
        if env is not None:
            return env
    elif "A" <= first <= "Z":
        m = _JUL_HEAD.fullmatch(text)
        if m:
            try:
                ts = datetime.strptime(m.group(1), "%b %d, %Y %I:%M:%S %p").replace(tzinfo=UTC)
            except ValueError:
                ts = None
            return _env(LOG4J, ts, None, "", m.group(2))
        m = _JUL_LEVEL.match(text)
        if m:
            return _env(PLAIN, None, _LEVELS[m.group(1)], text[m.end() :], None)
    elif first == " " or first == "\t":
        m = _TRAILER.fullmatch(text)
        if m:
            return _env(TRAILER, None, None, "", m.group(1))
    if "| " in text[:200]:
        m = _COMPOSE.match(text)
        if m:
            inner = parse(text[m.end() :])
            if inner.kind != PLAIN:
                return inner
            return _env(PLAIN, None, None, text[m.end() :], None)
    return _env(PLAIN, None, None, text, None)


_KNOWN_LOGGERS: set[str] = set()


def _with_logger(ts: datetime | None, level: str, rest: str) -> Envelope:
    logger = None
    end = len(rest)
    if end and rest[end - 1] == " ":
        end = len(rest.rstrip(" "))
    if end and rest[end - 1] == ")":
        start = rest.rfind(" (", 0, end)
        if start >= 0:
            cand = rest[start + 2 : end - 1]
            if cand in _KNOWN_LOGGERS or _valid_logger(cand):
                logger = cand
                rest = rest[:start]
        elif rest.startswith("("):  # empty message: `[ts] INFO (logger)`
            if _LOGGER.fullmatch(rest, 1, end - 1):
                logger = rest[1 : end - 1]
                rest = ""
    return _env(LOG4J, ts, _LEVELS.get(level, level), rest, logger)


def _valid_logger(cand: str) -> bool:
    if not _LOGGER.fullmatch(cand):
        return False
    if len(_KNOWN_LOGGERS) < 5_000:
        _KNOWN_LOGGERS.add(cand)
    return True


def _dated(text: str) -> Envelope | None:
    m = _ISO_LEVEL.match(text)
    if m and m.group(2) in _LEVELS and not _SPRING.match(text):
        ts = _iso_ts(m.group(1))
        rest = text[m.end() :]
        if rest.endswith("]"):  # Strimzi appends ` [thread]`
            cut = rest.rfind(" [")
            if cut > 0 and rest[cut - 1] == ")":
                rest = rest[:cut]
        env = _with_logger(ts, m.group(2), rest)
        if env.logger is None:
            # Python logging `%(asctime)s %(levelname)s %(name)s %(message)s` (kafka-python clients)
            p = _PY_NAME.match(rest)
            if p:
                return env._replace(logger=p.group(1), message=rest[p.end() :])
        return env
    for rx, order in ((_SPRING, "tlg"), (_QUARKUS, "tlg"), (_PYLOG, "tgl"), (_LOGBACK, "tlg")):
        m = rx.match(text)
        if m:
            if order == "tlg":
                ts_s, level, logger = m.group(1), m.group(2), m.group(3)
            else:
                ts_s, logger, level = m.group(1), m.group(2), m.group(3)
            if level not in _LEVELS:
                continue
            return _env(LOG4J, _iso_ts(ts_s), _LEVELS[level], text[m.end() :], logger)
    m = _GC_JDK8.match(text)
    if m:
        return _env(GC, _iso_ts(m.group(1)) if m.group(1) else None, None, text[m.end() :], None)
    return None


def _gc_unified(text: str) -> Envelope | None:
    m = _GC_UNIFIED.match(text)
    if not m:
        m8 = _GC_JDK8.match(text)
        if m8 is not None and text.startswith(("[GC", "[Full GC")):
            return _env(GC, None, None, text, None)
        return None
    decorators = m.group(1)[1:-1].split("][")
    ts = level = None
    tagged = False
    for deco in decorators:
        kind = _DECORATOR_KIND.get(deco)
        if kind is None:
            kind = _decorator_kind(deco)
        if kind == "tags":
            tagged = True
        elif kind == "time":
            ts = _iso_ts(deco.strip())
        elif kind != "other":
            level = kind
    if not tagged:
        if text.startswith(("[GC", "[Full GC")):
            return _env(GC, None, None, text, None)
        return None
    return _env(GC, ts, level, text[m.end() :], None)


_DECORATOR_KIND: dict[str, str] = {}


def _decorator_kind(deco: str) -> str:
    """'tags', 'time', a level (TRACE..ERROR) or 'other'; cached except for times (they vary)."""
    d = deco.strip()
    if len(d) >= 19 and d[4] == "-" and d[10] == "T":
        return "time"
    if _GC_TAGS.fullmatch(d):
        kind = "tags"
    elif d in _LEVELS:
        kind = _LEVELS[d]
    else:
        kind = "other"
    if len(_DECORATOR_KIND) < 10_000:
        _DECORATOR_KIND[deco] = kind
    return kind


def _json(text: str) -> Envelope | None:
    """Docker json-file (`{"log": ...}`) and logstash-style (`{"message": ...}`) records."""
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    inner = obj.get("log")
    if isinstance(inner, str):
        env = parse(clean(inner))
        if env.ts is None and isinstance(obj.get("time"), str):
            env = env._replace(ts=_iso_ts(obj["time"]))
        return env
    message = obj.get("message", obj.get("msg"))
    if not isinstance(message, str):
        return None
    level = obj.get("level", obj.get("severity"))
    logger = obj.get("logger_name", obj.get("logger"))
    ts_raw = obj.get("@timestamp", obj.get("timestamp", obj.get("time")))
    message = clean(message)
    trace = obj.get("stack_trace")
    if isinstance(trace, str) and trace:
        message = f"{message}: {clean(trace.splitlines()[0])}"
    return _env(
        LOG4J if level else PLAIN,
        _iso_ts(ts_raw) if isinstance(ts_raw, str) else None,
        _LEVELS.get(str(level).upper(), None) if level else None,
        message,
        logger if isinstance(logger, str) and _LOGGER.fullmatch(logger) else None,
    )


_TS_CACHE: dict[str, datetime | None] = {}


_MILLIS = {f"{ms:03d}": timedelta(milliseconds=ms) for ms in range(1000)}


def _kafka_ts(raw: str) -> datetime | None:
    """`2026-06-18 17:14:03,339` (UTC: the stack runs the JVM with -Duser.timezone=UTC)."""
    base = _TS_CACHE.get(raw[:19], False)
    if base is False:
        if len(_TS_CACHE) > 50_000:
            _TS_CACHE.clear()
        try:
            base = datetime(
                int(raw[:4]),
                int(raw[5:7]),
                int(raw[8:10]),
                int(raw[11:13]),
                int(raw[14:16]),
                int(raw[17:19]),
                tzinfo=UTC,
            )
        except ValueError:
            base = None
        _TS_CACHE[raw[:19]] = base
    if base is None:
        return None
    return base + _MILLIS[raw[20:23]]


def _iso_ts(raw: str) -> datetime | None:
    if len(raw) == 28 and raw[10] == "T" and raw[19] == "." and raw[23] in "+-":
        # JVM unified-logging time decorator `2026-12-04T23:42:28.735+0000`: cache per second
        key = raw[:19] + raw[23:]
        base = _TS_CACHE.get(key, False)
        if base is False:
            base = _iso_ts_slow(raw[:19] + raw[23:])
            if len(_TS_CACHE) > 50_000:
                _TS_CACHE.clear()
            _TS_CACHE[key] = base
        millis = _MILLIS.get(raw[20:23])
        return base if base is None or millis is None else base + millis
    return _iso_ts_slow(raw)


def _iso_ts_slow(raw: str) -> datetime | None:
    s = raw.strip().replace(",", ".")
    if len(s) >= 5 and s[-5] in "+-" and s[-3] != ":" and s[-4:].isdigit():
        s = s[:-2] + ":" + s[-2:]  # +0000 -> +00:00
    try:
        ts = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
