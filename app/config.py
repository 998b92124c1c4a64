"""Configuration: environment variables `LENS_*` over one YAML file (`lens.yaml`).

Precedence, highest first: environment, the YAML file, defaults. The file is the one
named by `LENS_CONFIG`, else `./lens.yaml` when it exists. Secrets (API keys) come only
from the environment: a YAML file that holds one is rejected, so a key never lands in a
file that gets committed or shared. `Config` never prints a secret (`repr=False`).

Environment variables
    LENS_CONFIG                  path of the YAML file
    LENS_PROMETHEUS_URL          (or PROMETHEUS_URL)
    LENS_LOKI_URL                (or LOKI_URL)
    LENS_KAFKA_BOOTSTRAP_SERVERS (or KAFKA_BOOTSTRAP_SERVERS)
    LENS_GRAFANA_URL             base URL for "Explore" links in notes
    LENS_GRAFANA_PROMETHEUS_UID, LENS_GRAFANA_LOKI_UID   datasource uids for those links
    LENS_TIMEZONE                IANA zone for the local time shown next to UTC
    LENS_LLM_BACKEND             auto | anthropic | openai | none
    LENS_LLM_MODEL, LENS_LLM_BASE_URL, LENS_LLM_MAX_TOKENS, LENS_LLM_TIMEOUT,
    LENS_LLM_MAX_RETRIES, LENS_LLM_MAX_INPUT_TOKENS, LENS_LLM_BUDGET_USD,
    LENS_LLM_PRICE_INPUT, LENS_LLM_PRICE_OUTPUT   (USD per million tokens)
    ANTHROPIC_API_KEY            secret; enables the Anthropic backend
    LENS_LLM_API_KEY             secret; optional bearer key for an OpenAI-compatible server
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

Backend = Literal["auto", "anthropic", "openai", "none"]

# USD per million tokens (input, output): standard list prices as published when this table
# was written (late 2026). Override with LENS_LLM_PRICE_INPUT / LENS_LLM_PRICE_OUTPUT for any
# other model or when prices change; a model with no known price is refused, not guessed.
KNOWN_PRICES: dict[str, tuple[float, float]] = {
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-sonnet-4-5": (3.0, 15.0),
    "claude-sonnet-4-6": (3.0, 15.0),
    "claude-sonnet-5": (3.0, 15.0),
    "claude-opus-4-5": (5.0, 25.0),
    "claude-opus-4-8": (5.0, 25.0),
}
# claude-sonnet-4-5 reached end of life on 2026-11-30 (the SDK warns); 4.6 is the current Sonnet 4.
DEFAULT_ANTHROPIC_MODEL = "claude-sonnet-4-6"

_SECRET_WORDS = ("key", "secret", "token", "password", "passwd", "credential")


class ConfigError(ValueError):
    """Configuration that cannot be used; the message names the setting and the fix."""


class _LLMFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Backend | None = None
    model: str | None = None
    base_url: str | None = None
    max_tokens: int | None = Field(default=None, ge=256, le=64000)
    timeout: float | None = Field(default=None, gt=0, le=600)
    max_retries: int | None = Field(default=None, ge=0, le=10)
    max_input_tokens: int | None = Field(default=None, ge=1000)
    budget_usd: float | None = Field(default=None, ge=0)
    price_input: float | None = Field(default=None, ge=0)
    price_output: float | None = Field(default=None, ge=0)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prometheus_url: str | None = None
    loki_url: str | None = None
    kafka_bootstrap_servers: str | None = None
    grafana_url: str | None = None
    grafana_prometheus_uid: str | None = None
    grafana_loki_uid: str | None = None
    timezone: str | None = None
    llm: _LLMFile = Field(default_factory=_LLMFile)


@dataclass(frozen=True)
class LLMConfig:
    backend: Backend = "auto"
    model: str | None = None  # None: the backend's default
    base_url: str | None = None
    max_tokens: int = 2000
    timeout: float = 60.0
    max_retries: int = 2  # the SDK's own retries on overload / 429 / 5xx
    max_input_tokens: int = 20000  # evidence beyond this is trimmed (lowest rank first)
    budget_usd: float = 0.25  # hard ceiling per note, all attempts together
    price_input: float | None = None
    price_output: float | None = None
    anthropic_api_key: str | None = field(default=None, repr=False)
    openai_api_key: str | None = field(default=None, repr=False)

    def resolved_backend(self) -> Literal["anthropic", "openai", "none"]:
        """`auto`: Anthropic with a key, else a local OpenAI-compatible server if one is set, else none."""
        if self.backend != "auto":
            return self.backend
        if self.anthropic_api_key:
            return "anthropic"
        if self.base_url:
            return "openai"
        return "none"

    def model_name(self) -> str:
        if self.model:
            return self.model
        if self.resolved_backend() == "anthropic":
            return DEFAULT_ANTHROPIC_MODEL
        raise ConfigError("LENS_LLM_MODEL is not set; name the model your OpenAI-compatible server serves")

    def prices(self) -> tuple[float, float] | None:
        """(input, output) USD per million tokens, or None when unknown."""
        if self.price_input is not None and self.price_output is not None:
            return self.price_input, self.price_output
        if self.resolved_backend() == "openai":
            return 0.0, 0.0  # a local server costs no money per token
        known = KNOWN_PRICES.get(self.model_name())
        return known


@dataclass(frozen=True)
class Config:
    prometheus_url: str | None = None
    loki_url: str | None = None
    kafka_bootstrap_servers: str | None = None
    grafana_url: str | None = None
    grafana_prometheus_uid: str | None = None
    grafana_loki_uid: str | None = None
    timezone: str | None = None
    llm: LLMConfig = field(default_factory=LLMConfig)
    source_file: str | None = None

    def tz(self) -> tzinfo:
        """The zone for local times shown next to UTC: the configured one, else this machine's."""
        if self.timezone:
            return ZoneInfo(self.timezone)
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else ZoneInfo("UTC")


def load_config(env: Mapping[str, str] | None = None, path: str | Path | None = None) -> Config:
    """Read the YAML file (if any) and the environment into a validated `Config`."""
    env = os.environ if env is None else env
    file_path = _file_path(env, path)
    data = _read_file(file_path) if file_path else _File()
    llm = data.llm

    def pick(name: str, file_value: Any, *aliases: str) -> Any:
        for var in (name, *aliases):
            if env.get(var, "").strip():
                return env[var].strip()
        return file_value

    backend = pick("LENS_LLM_BACKEND", llm.backend) or "auto"
    if backend not in ("auto", "anthropic", "openai", "none"):
        raise ConfigError(f"LENS_LLM_BACKEND={backend!r} is not one of auto, anthropic, openai, none")
    llm_config = LLMConfig(
        backend=backend,
        model=pick("LENS_LLM_MODEL", llm.model),
        base_url=pick("LENS_LLM_BASE_URL", llm.base_url),
        max_tokens=_number(
            "LENS_LLM_MAX_TOKENS", pick("LENS_LLM_MAX_TOKENS", llm.max_tokens), int, 2000, 256
        ),
        timeout=_number("LENS_LLM_TIMEOUT", pick("LENS_LLM_TIMEOUT", llm.timeout), float, 60.0, 0.1),
        max_retries=_number("LENS_LLM_MAX_RETRIES", pick("LENS_LLM_MAX_RETRIES", llm.max_retries), int, 2, 0),
        max_input_tokens=_number(
            "LENS_LLM_MAX_INPUT_TOKENS",
            pick("LENS_LLM_MAX_INPUT_TOKENS", llm.max_input_tokens),
            int,
            20000,
            1000,
        ),
        budget_usd=_number(
            "LENS_LLM_BUDGET_USD", pick("LENS_LLM_BUDGET_USD", llm.budget_usd), float, 0.25, 0.0
        ),
        price_input=_number(
            "LENS_LLM_PRICE_INPUT", pick("LENS_LLM_PRICE_INPUT", llm.price_input), float, None, 0.0
        ),
        price_output=_number(
            "LENS_LLM_PRICE_OUTPUT", pick("LENS_LLM_PRICE_OUTPUT", llm.price_output), float, None, 0.0
        ),
        anthropic_api_key=env.get("ANTHROPIC_API_KEY", "").strip() or None,
        openai_api_key=env.get("LENS_LLM_API_KEY", "").strip() or None,
    )
    if llm_config.backend == "anthropic" and not llm_config.anthropic_api_key:
        raise ConfigError("LENS_LLM_BACKEND=anthropic needs ANTHROPIC_API_KEY in the environment")
    if llm_config.backend == "openai" and not llm_config.base_url:
        raise ConfigError("LENS_LLM_BACKEND=openai needs LENS_LLM_BASE_URL (e.g. http://127.0.0.1:11434/v1)")
    if llm_config.resolved_backend() == "openai":
        llm_config.model_name()  # raises a ConfigError naming LENS_LLM_MODEL when it is missing
    timezone = pick("LENS_TIMEZONE", data.timezone)
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"LENS_TIMEZONE={timezone!r} is not an IANA zone name (e.g. Europe/Berlin)"
            ) from None
    return Config(
        prometheus_url=pick("LENS_PROMETHEUS_URL", data.prometheus_url, "PROMETHEUS_URL"),
        loki_url=pick("LENS_LOKI_URL", data.loki_url, "LOKI_URL"),
        kafka_bootstrap_servers=pick(
            "LENS_KAFKA_BOOTSTRAP_SERVERS", data.kafka_bootstrap_servers, "KAFKA_BOOTSTRAP_SERVERS"
        ),
        grafana_url=pick("LENS_GRAFANA_URL", data.grafana_url),
        grafana_prometheus_uid=pick("LENS_GRAFANA_PROMETHEUS_UID", data.grafana_prometheus_uid),
        grafana_loki_uid=pick("LENS_GRAFANA_LOKI_UID", data.grafana_loki_uid),
        timezone=timezone,
        llm=llm_config,
        source_file=str(file_path) if file_path else None,
    )


def _file_path(env: Mapping[str, str], path: str | Path | None) -> Path | None:
    if path is not None:
        chosen = Path(path)
    elif env.get("LENS_CONFIG", "").strip():
        chosen = Path(env["LENS_CONFIG"].strip())
    else:
        default = Path("lens.yaml")
        return default if default.is_file() else None
    if not chosen.is_file():
        raise ConfigError(f"config file {chosen} does not exist; fix LENS_CONFIG or create the file")
    return chosen


def _read_file(path: Path) -> _File:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if raw is None:
        return _File()
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a mapping of settings, not {type(raw).__name__}")
    secrets = sorted(_secret_keys(raw))
    if secrets:
        # Say which key, never its value.
        raise ConfigError(
            f"{path} holds a secret ({', '.join(secrets)}); secrets come only from the environment "
            "(ANTHROPIC_API_KEY, LENS_LLM_API_KEY): remove it from the file"
        )
    try:
        return _File.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_input=False)
        )
        raise ConfigError(f"{path}: {problems}") from None


def _secret_keys(data: Any, prefix: str = "") -> list[str]:
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}{key}"
            lowered = str(key).lower()
            if any(w in lowered for w in _SECRET_WORDS) and not lowered.endswith("_tokens"):
                found.append(name)
            found.extend(_secret_keys(value, name + "."))
    return found


def _number(name: str, value: Any, kind: type, default: Any, minimum: float) -> Any:
    if value is None or value == "":
        return default
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={value!r} is not a {'whole ' if kind is int else ''}number") from None
    if number < minimum:
        raise ConfigError(f"{name}={value!r} is below the minimum {minimum:g}")
    return number
