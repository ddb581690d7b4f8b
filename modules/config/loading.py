"""Reading the config file: its size (at most ``MAX_CONFIG_BYTES``) and encoding (UTF-8), YAML,
the merge of defaults and per-environment overrides, and validation errors rendered as one line
naming the file, the field (as written) and what is allowed."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from modules.config.environment import EnvironmentConfig
from modules.config.fields import CROSS_CHECK, StrictModel
from modules.config.pipeline import PipelineConfig
from modules.config.project import ProjectConfig
from modules.config.rules import explained
from modules.config.schedule import utc_text
from modules.config.source import Mistake, Source, read_source, shown_key, shown_path
from modules.config.suggest import allowed, allowed_keys, did_you_mean

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[2] / "config" / "pipelines.yaml"
CONFIG_PATH_ENV_VAR = "PIPELINE_CONFIG"
# A config is read whole, so its size is bounded: 1 MiB is ten times the benchmark's generated
# 200-pipeline config. Parsing it takes well under a second (aliases are refused: source.py);
# validating it takes time in proportion to environments x pipelines (each environment validates
# every pipeline): 6,000 pipelines in 2 environments ~4 s, 200 x 200 (40 kB) ~7 s.
MAX_CONFIG_BYTES = 1024 * 1024


class ConfigError(Exception):
    """Config problems, already phrased for the user: one line each, naming the file (and line),
    the field as written and what is allowed. ``lines`` holds them; ``str()`` joins them."""

    def __init__(self, message: str, lines: list[str] | None = None) -> None:
        self.lines = lines or [message]
        super().__init__("\n".join(self.lines))


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


def _name_of(pipeline: Any) -> str | None:
    """A pipeline's name if it has a usable one (validation reports the rest)."""
    name = pipeline.get("name") if isinstance(pipeline, dict) else None
    return name if isinstance(name, str) else None


def _merge_environment(
    name: str,
    settings: Any,
    defaults: dict[str, Any],
    pipelines: list[dict[str, Any]],
    mistakes: list[Mistake],
    source: Source,
) -> dict[str, Any] | None:
    """The environment's settings over the defaults, each pipeline with its overrides; mistakes
    in the overrides' shape are added to ``mistakes`` (None when nothing can be merged)."""
    here = ("environments", name)
    if not isinstance(settings, dict):
        mistakes.append(Mistake(source.line_of(here), shown_path(here), "must be a mapping"))
        return None
    merged: dict[str, Any] = _deep_merge(defaults, settings)
    overrides = merged.pop("pipelines", None) or {}
    if not isinstance(overrides, dict):
        where = (*here, "pipelines")
        mistakes.append(
            Mistake(
                source.line_of(where), shown_path(where), "must map pipeline names to overrides"
            )
        )
        overrides = {}
    known = [n for n in map(_name_of, pipelines) if n is not None]
    for unknown in overrides:
        if unknown not in known:
            override = (*here, "pipelines", unknown)
            mistakes.append(
                Mistake(
                    source.line_of(override),
                    shown_path(override),
                    f"no pipeline is named {unknown!r}{allowed(unknown, known, 'pipelines')}",
                )
            )
    for pipeline_name, override in overrides.items():
        if isinstance(override, dict) and "name" in override and override["name"] != pipeline_name:
            # Every environment's stacks, alarms and state paths are keyed by the pipeline's name:
            # a rename in one environment would be another pipeline there.
            renamed = (*here, "pipelines", pipeline_name, "name")
            mistakes.append(
                Mistake(
                    source.line_of(renamed),
                    shown_path(renamed),
                    "an override cannot rename a pipeline (its resources and state are named "
                    "after it in every environment); rename it under pipelines, or define "
                    "another pipeline",
                )
            )
    merged["name"] = name
    merged["pipelines"] = [
        _deep_merge(p, overrides.get(_name_of(p), {})) if isinstance(p, dict) else p
        for p in pipelines
    ]
    return merged


def _has(document: Any, path: tuple[Any, ...]) -> int:
    """How many leading parts of ``path`` exist in ``document``."""
    depth = 0
    for part in path:
        in_list = isinstance(document, list) and isinstance(part, int) and part < len(document)
        if in_list or (isinstance(document, dict) and part in document):
            document = document[part]
        else:
            break
        depth += 1
    return depth


def _data_path(loc: list[Any]) -> list[Any]:
    """A pydantic location as a path in the document (its internal union tags dropped)."""
    out: list[Any] = []
    for item in loc:
        if isinstance(item, int) or not _internal_tag(item, [str(part) for part in out]):
            out.append(item)
    return out


def _written(
    loc: list[Any], raw: dict[str, Any], layout: _FileLayout | None
) -> tuple[tuple[Any, ...], type[Any] | None, tuple[Any, ...]]:
    """Where the value at a merged-config location is written in the file (its path), and the
    model whose field it is with the path inside that model (for the allowed keys).

    A merged value comes from the environment's own settings or overrides, or else from the
    defaults or the shared pipeline definition: the one that holds more of the path wins."""
    path = tuple(_data_path(loc))
    if layout is None:
        return path, _FileLayout, path
    if path[:1] != ("environments",) or len(path) < 2:
        return path, None, path
    env, rest = path[1], path[2:]
    if rest == ("pipelines",):  # the list as a whole (names): written once, at the top level
        return rest, EnvironmentConfig, rest
    names = [_name_of(p) for p in layout.pipelines]
    # A cross-check names an enabled pipeline by its name (disabled ones are not in the
    # environment's list, so its index there is not the file's). One renamed by an override
    # (environments.<env>.pipelines.<name>.name) is found under no name: the environment's.
    if (
        rest[:1] == ("pipelines",)
        and len(rest) > 1
        and (isinstance(rest[1], int) or rest[1] in names)
    ):
        index = rest[1] if isinstance(rest[1], int) else names.index(rest[1])
        inner = rest[2:]
        name = names[index] if index < len(names) else None
        own_prefix: tuple[Any, ...] = ("environments", env, "pipelines", name)
        shared_prefix: tuple[Any, ...] = ("pipelines", index)
        model: type[Any] = PipelineConfig
    else:
        inner = rest
        own_prefix, shared_prefix, model = ("environments", env), ("defaults",), EnvironmentConfig
    own, shared = (*own_prefix, *inner), (*shared_prefix, *inner)
    own_depth = _has(raw, own) - len(own_prefix)
    shared_depth = _has(raw, shared) - len(shared_prefix)
    # A setting missing everywhere belongs to the environment, a pipeline's to its definition.
    if own_depth > shared_depth or (own_depth == shared_depth and model is EnvironmentConfig):
        return own, model, inner
    return shared, model, inner


def _show(path: tuple[Any, ...], layout: _FileLayout | None) -> str:
    """A written path as the user reads it; a shared pipeline by its name: pipelines[churn]."""
    if path[:1] == ("pipelines",) and len(path) > 1 and isinstance(path[1], int) and layout:
        entry = layout.pipelines[path[1]] if path[1] < len(layout.pipelines) else {}
        name = _name_of(entry)
        rest = shown_path(path[2:])
        head = f"pipelines[{shown_key(name) if name is not None else path[1]}]"
        return head + (("" if rest.startswith("[") else ".") + rest if path[2:] else "")
    return shown_path(path)


def _describe(
    error: Any, raw: dict[str, Any], layout: _FileLayout | None, source: Source
) -> tuple[Mistake, bool]:
    """One mistake: where (as written, with its line), what is wrong, what was given; and
    whether it is one environment's own setting."""
    path, model, inner = _written(list(error["loc"]), raw, layout)
    where, own = _show(path, layout), path[:1] == ("environments",)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        key = path[-1] if path else ""
        keys = allowed_keys(model, inner[:-1]) if model is not None else []
        message = "unknown key" + (allowed(key, keys, "keys allowed here") if keys else "")
    elif error["type"] == "missing":
        message = "required but missing"
    elif error["type"] == "string_pattern_mismatch":  # the rule in words, not the regex
        message = f"{explained(str(error['ctx']['pattern']))} (got {error['input']!r})"
    elif error["type"] == "literal_error":
        choices = re.findall(r"'((?:[^'\\]|\\.)*)'", str(error.get("ctx", {}).get("expected", "")))
        message = f"{message} (got {error['input']!r}){did_you_mean(error['input'], choices)}"
    elif "input" in error and error["type"] not in ("value_error", "assertion_error", CROSS_CHECK):
        message += f" (got {error['input']!r})"
    return Mistake(source.line_of(path), where, message), own


def _internal_tag(item: Any, out: list[str]) -> bool:
    if item in ("local", "s3") and out and out[-1] == "state":
        return True
    # function-after[...], literal[...]: not a pipeline named "function-x"
    return isinstance(item, str) and re.match(r"(function-\w+|literal)\[", item) is not None


def _raise(file: str, mistakes: list[Mistake]) -> None:
    if mistakes:
        unique = list(dict.fromkeys(mistakes))
        unique.sort(key=lambda m: (m.line is None, m.line or 0))
        raise ConfigError("", [m.render(file) for m in unique])


def parse_config(raw: Any, source: str, written: Source | None = None) -> ProjectConfig:
    """Validate an already-parsed document; raise ConfigError listing every mistake found, one
    line each, naming ``source``, the line (when ``written`` is given) and the field as written."""
    lines = written if written is not None else Source(raw)
    mistakes: list[Mistake] = list(lines.duplicates)
    document: dict[str, Any] = raw if isinstance(raw, dict) else {}
    try:
        layout = _FileLayout.model_validate(raw if raw is not None else {})
    except ValidationError as error:
        mistakes += [_describe(e, document, None, lines)[0] for e in error.errors()]
        _raise(source, mistakes)
        raise AssertionError("unreachable") from None
    environments: dict[str, Any] = {}
    for name, settings in layout.environments.items():
        merged_env = _merge_environment(
            name, settings, layout.defaults, layout.pipelines, mistakes, lines
        )
        if merged_env is not None:
            environments[name] = merged_env
    merged = {"project": layout.project, "environments": environments, "source": source}
    try:
        config = ProjectConfig.model_validate(merged)
    except ValidationError as error:
        found: dict[Mistake, set[str]] = {}
        for detail in error.errors():
            mistake, own = _describe(detail, document, layout, lines)
            loc = detail["loc"]
            if not own and loc[:1] == ("environments",) and len(loc) > 1:
                found.setdefault(mistake, set()).add(str(loc[1]))
            else:
                found.setdefault(mistake, set())
        for mistake, envs in found.items():
            if envs and len(envs) < len(environments):  # a shared setting, wrong in some only
                shown = ", ".join(repr(e) for e in sorted(envs))
                plural = "s" if len(envs) > 1 else ""
                where = f"{mistake.where} (in environment{plural} {shown})"
                mistake = mistake._replace(where=where)
            mistakes.append(mistake)
        _raise(source, mistakes)
        raise AssertionError("unreachable") from None
    _raise(source, mistakes)
    notices = _passed_start_dates(config, document, layout, lines, source)
    return config.model_copy(update={"notices": notices}) if notices else config


def _passed_start_dates(
    config: ProjectConfig,
    document: dict[str, Any],
    layout: _FileLayout,
    lines: Source,
    source: str,
) -> tuple[str, ...]:
    """One line per start_date as written that has passed (a shared pipeline's once, whatever
    the number of environments): the schedules are synthesized without it."""
    found: list[str] = []
    for env_name, env in config.environments.items():
        for pipeline in env.pipelines:
            schedule = pipeline.schedule
            if not schedule.start_date_passed or schedule.start_date is None:
                continue
            loc = ["environments", env_name, "pipelines", pipeline.name, "schedule", "start_date"]
            path, _, _ = _written(loc, document, layout)
            message = (
                f"{utc_text(schedule.start_date)} has passed: synthesized without it (it no "
                "longer holds runs back, and EventBridge Scheduler refuses a start date more "
                "than 5 minutes in the past); remove it from the config when convenient"
            )
            found.append(Mistake(lines.line_of(path), _show(path, layout), message).render(source))
    return tuple(dict.fromkeys(found))


def _read(chosen: Path) -> str:
    """The file's text: at most MAX_CONFIG_BYTES, UTF-8 (one line naming the file otherwise)."""
    try:
        with chosen.open("rb") as stream:
            data = stream.read(MAX_CONFIG_BYTES + 1)  # not more, whatever the file is
            size = os.fstat(stream.fileno()).st_size
    except OSError as error:
        raise ConfigError(f"{chosen}: cannot read config file ({error.strerror})") from None
    if len(data) > MAX_CONFIG_BYTES:
        shown = f"{size:,} bytes" if size > MAX_CONFIG_BYTES else "larger than that"
        raise ConfigError(
            f"{chosen}: the file is {shown}; a config file may be at most "
            f"{MAX_CONFIG_BYTES:,} bytes (the benchmark's 200 pipelines are about 100 kB)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{chosen}:{line}: not UTF-8 text (byte 0x{data[error.start]:02x}); save the config "
            "as UTF-8"
        ) from None


def _not_yaml(chosen: Path, text: str, error: yaml.YAMLError) -> ConfigError:
    """A YAML error as one line: the parser's problem and where it is."""
    if isinstance(error, yaml.reader.ReaderError):  # a character YAML does not allow: NUL, ...
        character = chr(error.character) if isinstance(error.character, int) else ""
        line = text[: text.find(character)].count("\n") + 1 if character in text else None
        at = f":{line}" if line is not None else ""
        code = f"#x{ord(character):04x}" if character else "a character"
        return ConfigError(f"{chosen}{at}: not valid YAML: {code}: {error.reason}")
    mark = getattr(error, "problem_mark", None)
    where = f":{mark.line + 1}: not valid YAML (column {mark.column + 1})" if mark else ""
    problem = getattr(error, "problem", None) or "invalid YAML"
    return ConfigError(f"{chosen}{where or ': not valid YAML'}: {problem}")


def load_config(path: str | os.PathLike[str] | None = None) -> ProjectConfig:
    """Read and validate the config file (argument, then $PIPELINE_CONFIG, then the default)."""
    chosen = Path(path or os.environ.get(CONFIG_PATH_ENV_VAR) or DEFAULT_CONFIG_PATH)
    text = _read(chosen)
    try:
        written = read_source(text)
    except yaml.YAMLError as error:
        raise _not_yaml(chosen, text, error) from None
    _raise(str(chosen), written.refused)
    if not isinstance(written.document, dict):
        raise ConfigError(
            f"{chosen}: the top level must be a mapping with project, defaults, pipelines and "
            "environments"
        )
    return parse_config(written.document, str(chosen), written)
