"""Reading the config file: YAML, the merge of defaults and per-environment overrides, and
validation errors rendered as one line naming the file, the field (as written) and what is
allowed."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from modules.config.fields import StrictModel
from modules.config.project import ProjectConfig

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[2] / "config" / "pipelines.yaml"
CONFIG_PATH_ENV_VAR = "PIPELINE_CONFIG"


class ConfigError(Exception):
    """A config problem, already phrased for the user: file, field and what is allowed."""


class _FileLayout(StrictModel):
    """The file as written: shared pipelines, defaults, per-environment settings and overrides."""

    project: Any = None
    defaults: dict[str, Any] = Field(default_factory=dict)
    pipelines: list[dict[str, Any]] = Field(min_length=1)
    environments: dict[str, dict[str, Any]] = Field(min_length=1)


def _deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def _shown(name: object) -> str:
    """A user-given key or name as it may appear in a one-line message."""
    text = str(name)
    return text if re.fullmatch(r"[\w.@/-]+", text) else repr(text)


def _name_of(pipeline: Any) -> str | None:
    """A pipeline's name if it has a usable one (validation reports the rest)."""
    name = pipeline.get("name") if isinstance(pipeline, dict) else None
    return name if isinstance(name, str) else None


def _merge_environment(
    name: str, settings: dict[str, Any], defaults: dict[str, Any], pipelines: list[dict[str, Any]]
) -> dict[str, Any]:
    if not isinstance(settings, dict):
        raise ConfigError(f"environments.{_shown(name)}: must be a mapping of settings")
    merged: dict[str, Any] = _deep_merge(defaults, settings)
    overrides = merged.pop("pipelines", None) or {}
    if not isinstance(overrides, dict):
        raise ConfigError(
            f"environments.{_shown(name)}.pipelines: must map pipeline names to overrides"
        )
    known = [_name_of(p) for p in pipelines]
    unknown = sorted(map(str, set(overrides) - set(known)))
    if unknown:
        raise ConfigError(
            f"environments.{_shown(name)}.pipelines: no pipeline named "
            f"{', '.join(map(repr, unknown))} "
            f"(pipelines: {', '.join(map(str, known))})"
        )
    merged["name"] = name
    merged["pipelines"] = [
        _deep_merge(p, overrides.get(_name_of(p), {})) if isinstance(p, dict) else p
        for p in pipelines
    ]
    return merged


def _describe(error: Any, raw: dict[str, Any], layout: _FileLayout | None = None) -> str:
    """One line: where (as the user wrote it), what is wrong, what was given."""
    loc = list(error["loc"])
    parts: list[str] = []
    if loc[:1] == ["environments"] and len(loc) > 1:
        env = loc[1]
        rest = loc[2:]
        written = layout.environments.get(env, {}) if layout else {}
        from_defaults = (
            layout is not None
            and bool(rest)
            and rest[0] != "pipelines"
            and rest[0] in layout.defaults
            and rest[0] not in written
        )
        if rest[:1] == ["pipelines"] and len(rest) > 1 and isinstance(rest[1], int):
            pipelines = raw["environments"][env]["pipelines"]
            index = rest[1]
            entry = pipelines[index] if index < len(pipelines) else {}
            name = entry.get("name", index) if isinstance(entry, dict) else index
            parts.append(f"pipelines[{_shown(name)}]")
            parts.extend(_loc_names(rest[2:]))
            where = ".".join(parts) + f" (in environment {_shown(env)!r})"
        elif from_defaults:
            where = ".".join(["defaults", *_loc_names(rest)]) + f" (in environment {_shown(env)!r})"
        else:
            where = ".".join([f"environments.{_shown(env)}", *_loc_names(rest)])
    else:
        where = ".".join(_loc_names(loc)) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key (not part of the config schema)"
    elif error["type"] == "missing":
        message = "required but missing"
    elif "input" in error and error["type"] not in ("value_error", "assertion_error"):
        message += f" (got {error['input']!r})"
    return f"{where}: {message}"


def _internal_tag(item: Any, out: list[str]) -> bool:
    if item in ("local", "s3") and out and out[-1] == "state":
        return True
    return isinstance(item, str) and item.startswith(("function-", "literal["))


def _loc_names(loc: list[Any]) -> list[str]:
    # Discriminated unions and literal checks add pydantic-internal tags to the location.
    out: list[str] = []
    for item in loc:
        if isinstance(item, int):
            if out:
                out[-1] += f"[{item}]"
            else:
                out.append(f"[{item}]")
        elif not _internal_tag(item, out):
            out.append(_shown(item))
    return out


def parse_config(raw: Any, source: str) -> ProjectConfig:
    """Validate an already-parsed document; raise ConfigError naming source and field."""
    try:
        layout = _FileLayout.model_validate(raw if raw is not None else {})
    except ValidationError as error:
        raise ConfigError(f"{source}: {_describe(error.errors()[0], {})}") from None
    names = [n for n in map(_name_of, layout.pipelines) if n is not None]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        shown = ", ".join(map(_shown, duplicates))
        raise ConfigError(f"{source}: pipelines: duplicate pipeline names: {shown}")
    try:
        merged = {
            "project": layout.project,
            "environments": {
                name: _merge_environment(name, settings, layout.defaults, layout.pipelines)
                for name, settings in layout.environments.items()
            },
            "source": source,
        }
        return ProjectConfig.model_validate(merged)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    except ValidationError as error:
        raise ConfigError(f"{source}: {_describe(error.errors()[0], merged, layout)}") from None


def load_config(path: str | os.PathLike[str] | None = None) -> ProjectConfig:
    """Read and validate the config file (argument, then $PIPELINE_CONFIG, then the default)."""
    chosen = Path(path or os.environ.get(CONFIG_PATH_ENV_VAR) or DEFAULT_CONFIG_PATH)
    try:
        text = chosen.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{chosen}: cannot read config file ({error.strerror})") from None
    try:
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError(f"{chosen}: not valid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{chosen}: the top level must be a mapping (project, pipelines, ...)")
    return parse_config(raw, str(chosen))
