"""The fact checker: an LLM draft may only cite known evidence and repeat its numbers.

Pure functions. `check_draft` returns a list of problems (empty = accepted); each problem
is a sentence the retry prompt can show the model. A number in the draft is accepted when
it matches, within the rounding its own digits imply, a number the model was shown: a
value, a count, an id-free number inside a query, label or log sample, or a plain derived
figure (a change `after - before`, a confidence or change as a percentage).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from app.model import Incident, utc
from app.note.draft import Draft
from app.note.format import clean

_ID = re.compile(r"\bE\d+\b")
_DATETIME = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?Z?)?")
_CLOCK = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?(?![\d:])")
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(\.\d+)?\s?([kKMGT](?![a-z]))?")
_SCALE = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
ALWAYS_ALLOWED = (0.0, 1.0)


def check_draft(
    draft: Draft, rows: list[dict[str, Any]], evidence_ids: Iterable[str], incident: Incident, tz: tzinfo
) -> list[str]:
    known = set(evidence_ids)
    problems: list[str] = []
    cited = list(draft.cited())
    for text in draft.texts():
        cited.extend(_ID.findall(text))
    listed = ", ".join(sorted(known, key=_id_key))
    for ident in dict.fromkeys(cited):
        if ident not in known:
            problems.append(f"{clean(ident, 20)} is not an evidence id; the known ids are {listed}")
    proposed = len(incident.hypotheses)
    if proposed and len(draft.causes) > proposed:
        problems.append(
            f"the draft lists {len(draft.causes)} causes but the correlation rules proposed {proposed}; "
            "rank only the hypotheses given"
        )
    numbers = allowed_numbers(rows, incident)
    times = allowed_times(rows, incident, tz)
    for text in draft.texts():
        problems.extend(_check_text(text, numbers, times))
    return problems


def _check_text(text: str, numbers: list[float], times: set[str]) -> list[str]:
    problems = []
    rest = _ID.sub(" ", text)
    for match in _DATETIME.findall(rest) + _CLOCK.findall(rest):
        if match.rstrip("Z") not in times and match not in times:
            problems.append(f"the time {match!r} in {_snippet(text)} is not the time of any evidence")
    rest = _CLOCK.sub(" ", _DATETIME.sub(" ", rest))
    for whole, fraction, suffix in _NUMBER.findall(rest):
        value = float(whole.replace(",", "") + (fraction or ""))
        decimals = len(fraction) - 1 if fraction else 0
        scale = _SCALE.get(suffix, 1.0)
        if not _matches(value * scale, 0.5 * 10**-decimals * scale, numbers):
            token = f"{whole}{fraction}{suffix}"
            problems.append(f"the number {token} in {_snippet(text)} appears in no evidence")
    return problems


def _matches(value: float, tolerance: float, allowed: list[float]) -> bool:
    for a in allowed:
        if abs(value - abs(a)) <= max(tolerance, 0.005 * abs(a)) + 1e-9:
            return True
    return False


def allowed_numbers(rows: list[dict[str, Any]], incident: Incident) -> list[float]:
    found: set[float] = set(ALWAYS_ALLOWED)
    for row in rows:
        _collect(row, found)
        before, after = row.get("before"), row.get("value")
        if isinstance(before, int | float) and isinstance(after, int | float):
            found.add(abs(after - before))
            if before:
                found.add(abs(after - before) / abs(before) * 100)
                found.add(abs(after / before))
    found.add(float(len(incident.brokers)))
    found.add(float(len([r for r in rows if "kind" in r])))
    found.add(float(len(incident.hypotheses)))
    found.update(v * 100 for v in list(found) if 0 < v < 1)
    found.add(round(incident.window.seconds / 60))
    return sorted(found)


def _collect(value: Any, out: set[float]) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        out.add(abs(float(value)))
    elif isinstance(value, str):
        text = _ID.sub(" ", value)
        for whole, fraction, suffix in _NUMBER.findall(text):
            out.add(float(whole.replace(",", "") + (fraction or "")) * _SCALE.get(suffix, 1.0))
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, out)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, out)


def allowed_times(rows: list[dict[str, Any]], incident: Incident, tz: tzinfo) -> set[str]:
    moments: list[datetime] = [incident.window.start, incident.window.end]
    if incident.started_at:
        moments.append(incident.started_at)
    for row in rows:
        if "at" in row:
            moments.append(utc(datetime.fromisoformat(str(row["at"]).replace("Z", "+00:00"))))
    out: set[str] = set()
    for moment in moments:
        for shown in (utc(moment), utc(moment).astimezone(tz)):
            out.update(
                {
                    f"{shown:%Y-%m-%d}",
                    f"{shown:%H:%M}",
                    f"{shown:%H:%M:%S}",
                    f"{shown:%-H:%M}",
                    f"{shown:%Y-%m-%dT%H:%M:%S}",
                    f"{shown:%Y-%m-%d %H:%M:%S}",
                    f"{shown:%Y-%m-%dT%H:%M}",
                    f"{shown:%Y-%m-%d %H:%M}",
                    f"{shown:%Y-%m-%dT%H:%M:%S}.{shown.microsecond // 1000:03d}",
                }
            )
    return out


def _snippet(text: str) -> str:
    return "“" + clean(text, 80).replace("\n", " ") + "”"


def _id_key(ident: str) -> tuple[int, str]:
    digits = ident[1:]
    return (int(digits) if digits.isdigit() else 0, ident)
