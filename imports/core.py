"""The engine's core classes (``App``, ``TerraformStack``, backends, ``Testing``, ...), from the
engine CDK_ENGINE selects (imports/engine.py): the only way the project's code reaches them.

    from imports.core import App, TerraformStack, Testing

cdktf and cdktn have the same public names and signatures, so the project's code is the same on
both. The names the project uses are the ones imported for mypy below (mypy reads cdktf's types:
the project is defined on it); at run time each name is read from the selected engine's module on
first use. Importing this module loads no engine: the first name read does.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from imports.engine import installed_engine

if TYPE_CHECKING:
    from cdktf import (
        App,
        LocalBackend,
        S3Backend,
        TerraformLocal,
        TerraformOutput,
        TerraformResourceLifecycle,
        TerraformStack,
        Testing,
    )

    __all__ = [
        "App",
        "LocalBackend",
        "S3Backend",
        "TerraformLocal",
        "TerraformOutput",
        "TerraformResourceLifecycle",
        "TerraformStack",
        "Testing",
    ]


def core_module() -> ModuleType:
    """The selected engine's core module (``cdktf`` or ``cdktn``), imported."""
    return importlib.import_module(installed_engine().core)


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    value = getattr(core_module(), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value
