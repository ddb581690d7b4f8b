"""Evaluate the definitions' JSONata expressions with the JSONata library itself (npm `jsonata`,
installed with asl-validator by `make test`), the way Step Functions binds them: ``$states.input``,
``$states.context``, for a Task's output ``$states.result``, and the workflow's variables
(``Assign``) by name. One Node process per test session answers line by line."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from tests.support.environments import JSONATA

_SERVER = r"""
const jsonata = require(process.argv[1]);
const readline = require('readline');
const rl = readline.createInterface({input: process.stdin});
rl.on('line', async (line) => {
  const {expression, input, context, result, variables} = JSON.parse(line);
  let reply;
  try {
    const bindings = {...variables, states: {input, context, result}};
    const value = await jsonata(expression).evaluate({}, bindings);
    reply = {value: value === undefined ? null : value};
  } catch (error) {
    reply = {error: String(error.message || error)};
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
});
"""


class JsonataError(Exception):
    pass


class Jsonata:
    def __init__(self) -> None:
        node = shutil.which("node")
        assert node and JSONATA.exists(), "jsonata comes with asl-validator (`make test`: npm ci)"
        self._process = subprocess.Popen(
            [node, "-e", _SERVER, str(JSONATA)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def evaluate(
        self,
        template: str,
        input: Any,
        context: dict[str, Any] | None = None,
        variables: dict[str, Any] | None = None,
        result: Any = None,
    ) -> Any:
        """Evaluate a ``{% ... %}`` field of a definition (``variables``: the workflow's, by name;
        ``result``: a Task's ``$states.result``, for its ``Output``)."""
        assert template.startswith("{%") and template.endswith("%}"), template
        request = {
            "expression": template[2:-2],
            "input": input,
            "context": context or {},
            "variables": variables or {},
            "result": result,
        }
        assert self._process.stdin and self._process.stdout
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        reply = json.loads(self._process.stdout.readline())
        if "error" in reply:
            raise JsonataError(reply["error"])
        return reply["value"]

    def close(self) -> None:
        self._process.terminate()
        self._process.wait()
