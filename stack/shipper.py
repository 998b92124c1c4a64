"""Log shipper: tails every broker's log files and pushes them to Loki's push API.

`python -m stack.shipper --config shipper.json` (written by the stack) where the JSON holds
loki_url, cluster, job, positions (a file) and nodes {broker id: log dir}.

Per file: a record starts at a line with a leading timestamp (Kafka's `[yyyy-MM-dd HH:mm:ss,SSS]`
in UTC, or the JVM unified-logging `[2026-01-02T03:04:05.678+0000]`); other lines (stack traces)
are joined to the record before them. The record's own timestamp is the entry time. Loki 1.x
rejects entries older than the newest in a stream, so a record that arrives out of order is
stamped with the stream's newest time instead. Rotation (new inode) and truncation are followed.
Labels: {cluster, broker, job, filename} with filename the full path, as promtail sets it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

log = logging.getLogger("stack.shipper")

KAFKA_TS = re.compile(r"^\[(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),(\d{3})\]")
JVM_TS = re.compile(r"^\[(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{3})([+-]\d{4})\]")
READ_CHUNK = 1 << 20
MAX_BATCH_BYTES = 1 << 20
BATCH_WAIT_S = 1.0
MULTILINE_WAIT_S = 1.0
POLL_S = 0.25
PUSH_TIMEOUT_S = 10.0
MAX_QUEUED = 200_000
FILE_GLOB = "*.log"


def parse_ts(line: str) -> int | None:
    """Entry time in ns since the epoch from a record's first line, or None if it has none."""
    m = KAFKA_TS.match(line)
    if m:
        dt = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        return int(dt.timestamp()) * 1_000_000_000 + int(m.group(2)) * 1_000_000
    m = JVM_TS.match(line)
    if m:
        dt = datetime.strptime(m.group(1) + m.group(3), "%Y-%m-%dT%H:%M:%S%z")
        return int(dt.timestamp()) * 1_000_000_000 + int(m.group(2)) * 1_000_000
    return None


def is_first_line(line: str) -> bool:
    return parse_ts(line) is not None


@dataclass
class Record:
    ts_ns: int | None
    lines: list[str]
    updated: float


@dataclass
class FileTail:
    """Reads complete lines from one path, following rotation and truncation."""

    path: Path
    labels: dict[str, str]
    offset: int = 0
    inode: int | None = None
    fh: object | None = None
    partial: bytes = b""
    pending: Record | None = None
    last_ns: int = 0
    out: list[tuple[int, str]] = field(default_factory=list)

    def _open(self, offset: int) -> bool:
        try:
            fh = self.path.open("rb")
        except OSError:
            return False
        st = os.fstat(fh.fileno())
        if offset > st.st_size:
            offset = 0
        fh.seek(offset)
        self.fh, self.inode, self.offset, self.partial = fh, st.st_ino, offset, b""
        return True

    def poll(self, now: float) -> None:
        if self.fh is None and not self._open(self.offset):
            return
        self._drain()
        try:
            st = self.path.stat()
        except OSError:
            st = None
        if st is not None and st.st_ino != self.inode:
            # Rotated: the old handle was drained above; continue with the new file from its start.
            self._flush_partial()
            self.fh.close()
            self.fh = None
            if self._open(0):
                self._drain()
        elif st is not None and st.st_size < self.offset:
            log.info("%s was truncated; reading from the start", self.path)
            self.fh.seek(0)
            self.offset, self.partial = 0, b""
            self._drain()
        if self.pending and now - self.pending.updated >= MULTILINE_WAIT_S:
            self._emit()

    def _drain(self) -> None:
        while True:
            chunk = self.fh.read(READ_CHUNK)
            if not chunk:
                return
            self.offset += len(chunk)
            data = self.partial + chunk
            *lines, self.partial = data.split(b"\n")
            now = time.monotonic()
            for raw in lines:
                self._line(raw.decode("utf-8", errors="replace").rstrip("\r"), now)

    def _flush_partial(self) -> None:
        if self.partial:
            self._line(self.partial.decode("utf-8", errors="replace"), time.monotonic())
            self.partial = b""

    def _line(self, line: str, now: float) -> None:
        ts = parse_ts(line)
        if ts is not None or self.pending is None:
            self._emit()
            self.pending = Record(ts, [line], now)
        else:
            self.pending.lines.append(line)
            self.pending.updated = now

    def _emit(self) -> None:
        rec, self.pending = self.pending, None
        if rec is None:
            return
        text = "\n".join(rec.lines)
        if not text.strip():
            return
        ts = rec.ts_ns if rec.ts_ns is not None else time.time_ns()
        ts = max(ts, self.last_ns)
        self.last_ns = ts
        self.out.append((ts, text))

    def take(self) -> list[tuple[int, str]]:
        out, self.out = self.out, []
        return out


class Shipper:
    def __init__(self, cfg: dict) -> None:
        self.loki = cfg["loki_url"].rstrip("/") + "/loki/api/v1/push"
        self.cluster = cfg["cluster"]
        self.job = cfg.get("job", "kafka")
        self.nodes = {str(k): Path(v) for k, v in cfg["nodes"].items()}
        self.positions_path = Path(cfg["positions"])
        self.tails: dict[Path, FileTail] = {}
        self.queue: list[tuple[dict[str, str], int, str]] = []
        self.queued_bytes = 0
        self.first_queued = 0.0
        self.session = requests.Session()
        self.stopping = False
        self.positions = self._load_positions()

    def _load_positions(self) -> dict[str, dict]:
        try:
            return json.loads(self.positions_path.read_text())
        except (OSError, ValueError):
            return {}

    def _save_positions(self) -> None:
        data = {str(t.path): {"inode": t.inode, "offset": t.offset} for t in self.tails.values()}
        tmp = self.positions_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.positions_path)

    def discover(self) -> None:
        for broker, folder in self.nodes.items():
            for path in folder.glob(FILE_GLOB):
                if path in self.tails:
                    continue
                labels = {"cluster": self.cluster, "broker": broker, "job": self.job, "filename": str(path)}
                tail = FileTail(path, labels)
                pos = self.positions.get(str(path))
                try:
                    if pos and path.stat().st_ino == pos.get("inode"):
                        tail.offset = int(pos["offset"])
                except OSError:
                    pass
                self.tails[path] = tail

    def collect(self) -> None:
        now = time.monotonic()
        for tail in self.tails.values():
            tail.poll(now)
            for ts, line in tail.take():
                if not self.queue:
                    self.first_queued = now
                self.queue.append((tail.labels, ts, line))
                self.queued_bytes += len(line)

    def push(self, force: bool = False) -> None:
        if not self.queue:
            return
        if len(self.queue) > MAX_QUEUED:
            # Loki has been unreachable for long: keep the newest entries, say how many were lost.
            dropped = len(self.queue) - MAX_QUEUED
            self.queue = self.queue[dropped:]
            self.queued_bytes = sum(len(line) for _, _, line in self.queue)
            log.warning("dropped the %d oldest entries while Loki was unreachable", dropped)
        due = (
            force
            or self.queued_bytes >= MAX_BATCH_BYTES
            or time.monotonic() - self.first_queued >= BATCH_WAIT_S
        )
        if not due:
            return
        while self.queue:
            batch, size = [], 0
            for item in self.queue:
                if batch and size + len(item[2]) > MAX_BATCH_BYTES:
                    break
                batch.append(item)
                size += len(item[2])
            if not self._send(batch):
                return
            self.queue = self.queue[len(batch) :]
            self.queued_bytes -= size
        self.queued_bytes = 0
        self._save_positions()

    def _send(self, batch: list[tuple[dict[str, str], int, str]]) -> bool:
        """POST one batch (at most MAX_BATCH_BYTES of lines); False means keep it and retry later."""
        streams: dict[tuple, dict] = {}
        for labels, ts, line in batch:
            key = tuple(sorted(labels.items()))
            streams.setdefault(key, {"stream": labels, "values": []})["values"].append([str(ts), line])
        try:
            r = self.session.post(self.loki, json={"streams": list(streams.values())}, timeout=PUSH_TIMEOUT_S)
        except requests.RequestException as exc:
            log.warning(
                "push to %s failed (%s); keeping %d entries for retry", self.loki, exc, len(self.queue)
            )
            time.sleep(1.0)
            return False
        if r.status_code >= 500 or r.status_code == 429:
            log.warning("Loki answered %s: %s; retrying", r.status_code, r.text[:300])
            time.sleep(1.0)
            return False
        if r.status_code >= 400:
            # Partial rejects (e.g. an entry Loki considers out of order) are not retried.
            log.warning("Loki rejected part of a batch (%s): %s", r.status_code, r.text[:500])
        return True

    def run(self) -> None:
        last_discover = 0.0
        while not self.stopping:
            if time.monotonic() - last_discover > 2.0:
                self.discover()
                last_discover = time.monotonic()
            self.collect()
            self.push()
            time.sleep(POLL_S)
        for tail in self.tails.values():
            tail._emit()
        self.collect()
        self.push(force=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ship Kafka log files to Loki")
    parser.add_argument("--config", required=True, type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    shipper = Shipper(json.loads(args.config.read_text()))

    def stop(_sig, _frame):
        shipper.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("shipping %s to %s", {b: str(p) for b, p in shipper.nodes.items()}, shipper.loki)
    shipper.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
