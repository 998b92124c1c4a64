"""Where the stack keeps its files, which versions it uses, and which ports it listens on.

Every port can be changed with an environment variable (read when a stack is started; a running
stack's ports are then read back from its state file, so other processes need no variables):

    STACK_KAFKA_PORT_BASE   19092  node N listens on base+10*(N-1) (PLAINTEXT), +1 (CONTROLLER),
                                   +2 (JMX exporter /metrics): 19092/19093/19094, 19102/..., 19112/...
    STACK_PROMETHEUS_PORT   9090
    STACK_LOKI_PORT         3100   (gRPC on STACK_LOKI_GRPC_PORT, 9096)
    STACK_LAG_EXPORTER_PORT 9308   (kafka_exporter's usual port)
    STACK_HEAP              512m   per broker JVM
    STACK_DIR               <repo>/.stack           runtime state, logs, data (ignored by git)
    KIL_CACHE_DIR           ~/.cache/kafka-incident-lens   jars and the Loki binary (survive clones)
"""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent

KAFKA_VERSION = "4.3.1"
JMX_AGENT_VERSION = "1.0.1"  # the newest jmx_prometheus_javaagent published to Maven Central
LOKI_MODULE = "github.com/grafana/loki"
LOKI_VERSION = "v1.6.1"  # the last Apache-2.0 Loki; v2+ are AGPL

# Fixed so that every fresh start formats the same cluster (16 bytes, base64url, no padding).
_CLUSTER_UUID = uuid.UUID("6b696c2d-6c6f-6361-6c2d-6b61666b6131")
CLUSTER_ID = base64.urlsafe_b64encode(_CLUSTER_UUID.bytes).decode().rstrip("=")
CLUSTER_NAME = "local"


def stack_dir() -> Path:
    return Path(os.environ.get("STACK_DIR", REPO / ".stack")).resolve()


def run_dir() -> Path:
    return stack_dir() / "run"


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "kafka-incident-lens"
    return Path(os.environ.get("KIL_CACHE_DIR", default)).resolve()


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a port number; unset it or give an integer") from None
    if not 1 <= value <= 65535:
        raise ValueError(f"{name}={value} is outside 1..65535")
    return value


@dataclass(frozen=True)
class StackConfig:
    """Ports and sizes of one stack. Node ids are 1..nodes."""

    nodes: int = 3
    kafka_port_base: int = 19092
    prometheus_port: int = 9090
    loki_port: int = 3100
    loki_grpc_port: int = 9096
    lag_exporter_port: int = 9308
    heap: str = "512m"
    cluster: str = CLUSTER_NAME
    cluster_id: str = CLUSTER_ID
    host: str = field(default="127.0.0.1")

    @classmethod
    def from_env(cls) -> StackConfig:
        return cls(
            kafka_port_base=_env_int("STACK_KAFKA_PORT_BASE", 19092),
            prometheus_port=_env_int("STACK_PROMETHEUS_PORT", 9090),
            loki_port=_env_int("STACK_LOKI_PORT", 3100),
            loki_grpc_port=_env_int("STACK_LOKI_GRPC_PORT", 9096),
            lag_exporter_port=_env_int("STACK_LAG_EXPORTER_PORT", 9308),
            heap=os.environ.get("STACK_HEAP", "512m"),
        )

    @classmethod
    def from_dict(cls, data: dict) -> StackConfig:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def node_ids(self) -> list[int]:
        return list(range(1, self.nodes + 1))

    def kafka_port(self, node: int) -> int:
        return self.kafka_port_base + 10 * (node - 1)

    def controller_port(self, node: int) -> int:
        return self.kafka_port(node) + 1

    def jmx_port(self, node: int) -> int:
        return self.kafka_port(node) + 2

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{self.host}:{self.kafka_port(n)}" for n in self.node_ids)

    @property
    def quorum_voters(self) -> str:
        return ",".join(f"{n}@{self.host}:{self.controller_port(n)}" for n in self.node_ids)

    @property
    def prometheus_url(self) -> str:
        return f"http://{self.host}:{self.prometheus_port}"

    @property
    def loki_url(self) -> str:
        return f"http://{self.host}:{self.loki_port}"

    @property
    def lag_exporter_url(self) -> str:
        return f"http://{self.host}:{self.lag_exporter_port}/metrics"

    def jmx_url(self, node: int) -> str:
        return f"http://{self.host}:{self.jmx_port(node)}/metrics"

    def all_ports(self) -> dict[str, int]:
        ports = {
            "prometheus": self.prometheus_port,
            "loki": self.loki_port,
            "loki-grpc": self.loki_grpc_port,
            "lag-exporter": self.lag_exporter_port,
        }
        for n in self.node_ids:
            ports[f"kafka-{n}"] = self.kafka_port(n)
            ports[f"kafka-{n}-controller"] = self.controller_port(n)
            ports[f"kafka-{n}-jmx"] = self.jmx_port(n)
        return ports
