"""Move a state bootstrap's own state from its local file into the bucket it created.

    # after the first apply, set `bootstrap: self-hosted` on the bucket's S3 state, then:
    make state-self-host       # = make synth, then: .venv/bin/python -m tools.state_self_host

Every bootstrap whose config says ``bootstrap: self-hosted`` is synthesized with the S3 backend of
its host bucket (``modules.stacks.provider.s3_backend``: its own key, its bucket's KMS alias, the
bucket's lock). Its state is still in ``terraform.<stack>.tfstate`` at the project root; this
moves it there with the two-step pattern: ``terraform init`` on the local file (a
``*_override.tf.json`` puts the local backend back for one init), then, with the synthesized S3
backend, ``terraform init -migrate-state -force-copy``. Before that it checks that the backend
holds no state yet (``-force-copy`` would overwrite it), and after, that every resource of the
local file arrived. The local file is then renamed ``<file>.self-hosted``: nothing reads it again.

Needs AWS credentials for the bootstrap's account (it writes to the bucket) and ``terraform``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from modules.config import load_config
from modules.stack_names import state_bootstraps
from tools.split_state import managed_addresses
from tools.state_arguments import state_tool_arguments
from tools.state_move import state_file

# Terraform merges *_override.tf.json into the stack's configuration; its backend replaces the
# synthesized one.
LOCAL_OVERRIDE = "local_backend_override.tf.json"


def _terraform(terraform: str, stack_dir: Path, *args: str) -> str:
    result = subprocess.run(
        [terraform, f"-chdir={stack_dir}", *args, "-no-color"],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_INPUT": "0"},
    )
    if result.returncode != 0:
        raise SystemExit(f"{stack_dir.name}: terraform {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def _backend_addresses(terraform: str, stack_dir: Path) -> set[str]:
    pulled = _terraform(terraform, stack_dir, "state", "pull").strip()
    resources = json.loads(pulled).get("resources", []) if pulled else []
    return {f"{r['type']}.{r['name']}" for r in resources if r.get("mode") == "managed"}


def self_host(stack_dir: Path, local_state: Path, terraform: str = "terraform") -> int:
    """Move ``local_state`` into the backend ``stack_dir`` declares; return how many resources
    moved. Refuses when that backend holds state already."""
    _terraform(terraform, stack_dir, "init", "-reconfigure")
    if _backend_addresses(terraform, stack_dir):
        raise SystemExit(
            f"{stack_dir.name}: its backend holds state already, nothing moved ({local_state} "
            "is left as it is; compare the two before deleting either)"
        )
    expected = managed_addresses(local_state)
    override = stack_dir / LOCAL_OVERRIDE
    local = {"local": {"path": str(local_state.resolve())}}
    override.write_text(json.dumps({"terraform": {"backend": local}}))
    try:
        _terraform(terraform, stack_dir, "init", "-reconfigure")
    finally:
        override.unlink()
    _terraform(terraform, stack_dir, "init", "-migrate-state", "-force-copy")
    arrived = _backend_addresses(terraform, stack_dir)
    if arrived != expected:
        raise SystemExit(
            f"{stack_dir.name}: the backend holds {len(arrived)} resources, {local_state} "
            f"{len(expected)}; {local_state} is left as it is"
        )
    local_state.rename(local_state.with_name(f"{local_state.name}.self-hosted"))
    return len(arrived)


def main(argv: list[str] | None = None) -> int:
    args = state_tool_arguments(__doc__.splitlines()[0], argv)
    hosted = [b for b in state_bootstraps(load_config(args.config)) if b.host is not None]
    if not hosted:
        print("state-self-host: no bucket says bootstrap: self-hosted; nothing to move")
    for boot in hosted:
        if boot.host is None:
            continue
        local = state_file(args.project_dir, boot.name)
        if not local.exists():
            print(
                f"{boot.name}: no {local}: moved before (see its .self-hosted copy), or lost "
                "(make state-recover prints the imports that rebuild it)"
            )
            continue
        count = self_host(args.stacks / boot.name, local)
        print(f"{boot.name}: {count} resources moved into s3://{boot.host.bucket}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
