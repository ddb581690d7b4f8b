"""The jsii runtime started beside config validation (imports.runtime) hands its failures on."""

from __future__ import annotations

import sys

import pytest

from imports.runtime import start_runtime_in_background


def test_a_failed_runtime_start_is_raised_where_it_is_awaited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "cdktf", None)  # `import cdktf` now raises ImportError
    runtime_started = start_runtime_in_background()
    with pytest.raises(ImportError, match="cdktf"):
        runtime_started()
