"""Lines outside the taxonomy grouped into counted templates with drain3, never dropped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from app.model import LogEvent

from . import _entities as ent
from . import _envelope as env
from ._classify import logger_key

# Variable parts masked before mining, so `Connection to node 2` and `... node 3` share a template.
_MASKS = [
    (r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "UUID"),
    (r"(?<![\w-])[A-Za-z0-9_-]{22}(?![\w-])", "ID"),
    (r"/?\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?::\d{1,5})?", "IP"),
    (r"0x[0-9a-fA-F]{1,32}", "HEX"),
    (r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?![\w.])", "NUM"),
]
MAX_TEMPLATE_INPUT = 2_000  # characters of a message mined; the rest adds nothing to a template


@dataclass
class Template:
    """One family of unclassified lines."""

    id: int
    template: str
    count: int = 0
    severities: dict[str, int] = field(default_factory=dict)
    loggers: dict[str, int] = field(default_factory=dict)
    first: datetime | None = None
    last: datetime | None = None
    example: str = ""


class TemplateGroups:
    """Feed unclassified events; read back counted templates (most frequent first)."""

    def __init__(self, *, similarity: float = 0.5, depth: int = 4, max_clusters: int | None = 2_000) -> None:
        config = TemplateMinerConfig()
        config.drain_sim_th = similarity
        config.drain_depth = depth
        config.drain_max_clusters = max_clusters
        config.profiling_enabled = False
        config.masking_instructions = [MaskingInstruction(p, name) for p, name in _MASKS]
        self._miner = TemplateMiner(config=config)
        self._by_id: dict[int, Template] = {}

    def add(self, event: LogEvent) -> int:
        """Mine one event's message; returns its template id."""
        first_line = event.line.split("\n", 1)[0]
        e = env.parse(first_line)
        _ident, _name, body = ent.split_ident(e.message)
        logger = logger_key(e.logger) if e.logger else "-"
        text = f"{event.severity or '-'} {logger} {body[:MAX_TEMPLATE_INPUT]}"
        result = self._miner.add_log_message(text)
        cid = int(result["cluster_id"])
        tpl = self._by_id.get(cid)
        if tpl is None:
            tpl = self._by_id[cid] = Template(id=cid, template="", example=first_line[:500])
        tpl.template = result["template_mined"]
        tpl.count += 1
        sev = event.severity or "-"
        tpl.severities[sev] = tpl.severities.get(sev, 0) + 1
        tpl.loggers[logger] = tpl.loggers.get(logger, 0) + 1
        if event.ts is not None:
            tpl.first = event.ts if tpl.first is None or event.ts < tpl.first else tpl.first
            tpl.last = event.ts if tpl.last is None or event.ts > tpl.last else tpl.last
        return cid

    def extend(self, events: Iterable[LogEvent]) -> None:
        for event in events:
            self.add(event)

    def templates(self) -> list[Template]:
        # drain3 may merge clusters' text as it learns; read the final template text back.
        for cluster in self._miner.drain.clusters:
            tpl = self._by_id.get(cluster.cluster_id)
            if tpl is not None:
                tpl.template = cluster.get_template()
        return sorted(self._by_id.values(), key=lambda t: (-t.count, t.id))
