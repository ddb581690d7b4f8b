"""Values sent to SageMaker (or Glue) checked against its request shapes in botocore's service
model.

``check_shape`` refuses a value (one line) that the service's API model would refuse for a shape:
enums, lengths, patterns, ranges, map and list sizes, through keys, values and items;
``describe_shape`` says a member's limits in a few words for the config reference. Needs the
shapes (``modules.config.botocore_facts``), the Java-pattern converter
(``modules.config.aws_names``) and the patterns' rules in words (``modules.config.rules``).
"""

from __future__ import annotations

from typing import Any

from modules.config.aws_names import java_pattern
from modules.config.botocore_facts import sagemaker_shape, service_shape
from modules.config.rules import explained
from modules.config.suggest import allowed

# How a message names the service whose limit a value breaks.
_SERVICE_NAMES = {"sagemaker": "SageMaker", "glue": "Glue"}


def check_shape(value: Any, shape: dict[str, Any], what: str, service: str = "sagemaker") -> None:
    """Raise ValueError when AWS's API model would refuse this value for this shape (a shape of
    ``service``'s model: members of maps and lists are read from it)."""
    kind = shape["type"]
    owner = _SERVICE_NAMES[service]
    if kind == "string":
        if "enum" in shape and value not in shape["enum"]:
            hint = allowed(value, shape["enum"], f"{what}s")
            raise ValueError(f"{value!r} is not a {what}{hint}")
        if not shape.get("min", 0) <= len(value) <= shape.get("max", len(value)):
            raise ValueError(
                f"{what} must be {shape.get('min', 0)} to {shape['max']} characters "
                f"({owner}'s limit), got {len(value)}"
            )
        if "pattern" in shape and not java_pattern(shape["pattern"]).fullmatch(value):
            hint = explained(shape["pattern"], "a character it has, or their order")
            raise ValueError(f"{owner} refuses {what} {value!r}: {hint}")
    elif kind in ("integer", "long"):
        low, high = shape.get("min"), shape.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = (
                f"from {low} to {high}"
                if low is not None and high is not None
                else f"at least {low}"
                if low is not None
                else f"at most {high}"
            )
            raise ValueError(f"{what} must be {bounds} ({owner}'s limit), got {value}")
    elif kind == "map":
        if len(value) > shape.get("max", len(value)):
            raise ValueError(
                f"{what} may hold at most {shape['max']} entries ({owner}'s limit), "
                f"got {len(value)}"
            )
        for key, item in value.items():
            check_shape(key, service_shape(service, shape["key"]["shape"]), f"{what} key", service)
            check_shape(
                item, service_shape(service, shape["value"]["shape"]), f"{what} value", service
            )
    elif kind == "list":
        if not shape.get("min", 0) <= len(value) <= shape.get("max", len(value)):
            raise ValueError(
                f"{what} must hold {shape.get('min', 0)} to {shape['max']} items "
                f"({owner}'s limit), got {len(value)}"
            )
        for item in value:
            check_shape(
                item, service_shape(service, shape["member"]["shape"]), f"{what} item", service
            )


def describe_shape(path: str) -> str:
    """A request member's limits in a few words, for the config reference."""
    shape = sagemaker_shape(path)
    parts = []
    if "enum" in shape:
        parts.append(f"{len(shape['enum'])} values")
    unit = {"string": "length ", "map": "entries ", "list": "items "}.get(shape["type"], "")
    if "min" in shape and shape["min"] > 0:
        parts.append(f"{unit}≥ {shape['min']}")
    if "max" in shape:
        parts.append(f"{unit}≤ {shape['max']}")
    return ", ".join(parts)
