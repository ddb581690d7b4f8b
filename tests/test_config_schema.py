"""The schema as a whole: every string that can reach the Terraform JSON refuses Terraform's
template syntax (the walk over every model, and proof that it finds a plain string)."""

from __future__ import annotations

from typing import Any

from modules.config import (
    ProjectConfig,
)

_CHECKED_OTHERWISE = {
    ("ScheduleConfig", "payload"): "the whole payload is checked as JSON text (_safe_payload)",
}
# Strings that never reach Terraform JSON.
_NOT_IN_TERRAFORM = {
    ("ProjectConfig", "source"): "the config file's path, for messages",
    ("ProjectConfig", "notices"): "lines for stderr, never synthesized",
}


def _unsafe_strings(annotation: Any, metadata: list[Any], where: str) -> list[str]:
    """Places in a type where a str is not a TfStr (no NO_TERRAFORM_TEMPLATE validator)."""
    import typing

    from pydantic import BaseModel

    from modules.config import NO_TERRAFORM_TEMPLATE

    origin = typing.get_origin(annotation)
    if annotation is str:
        return [] if any(m is NO_TERRAFORM_TEMPLATE for m in metadata) else [where]
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return _unsafe_strings(inner, [*metadata, *extra], where)
    if origin is typing.Literal or annotation is Any:
        return [] if origin is typing.Literal else [f"{where} (Any)"]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return []  # walked on its own
    found: list[str] = []
    for index, arg in enumerate(typing.get_args(annotation)):
        found += _unsafe_strings(arg, [], f"{where}[{index}]")
    return found


def models() -> list[type[Any]]:
    import typing

    from pydantic import BaseModel

    seen: list[type[Any]] = []
    todo: list[Any] = [ProjectConfig]
    while todo:
        current = todo.pop()
        if isinstance(current, type) and issubclass(current, BaseModel):
            if current in seen:
                continue
            seen.append(current)
            todo += [f.annotation for f in current.model_fields.values()]
        else:
            todo += list(typing.get_args(current))
    return seen


def test_every_string_of_the_schema_refuses_terraform_templates() -> None:
    """Walks every field of every config model: a new string field that is not a TfStr fails."""
    found = models()
    assert len(found) >= 15  # the walk reaches the nested models
    unsafe: list[str] = []
    for model in found:
        for name, field in model.model_fields.items():
            if (model.__name__, name) in {**_CHECKED_OTHERWISE, **_NOT_IN_TERRAFORM}:
                continue
            unsafe += _unsafe_strings(
                field.annotation, list(field.metadata), f"{model.__name__}.{name}"
            )
    assert unsafe == []


def test_the_schema_walk_finds_a_plain_string() -> None:
    from pydantic import Field

    from modules.config import TfStr

    assert _unsafe_strings(str, [], "x") == ["x"]
    assert _unsafe_strings(dict[str, TfStr], [], "x") == ["x[0]"]
    assert _unsafe_strings(list[TfStr] | None, [], "x") == []
    assert _unsafe_strings(Any, [Field()], "x") == ["x (Any)"]
