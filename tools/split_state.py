"""Split a one-stack environment's Terraform state into the per-pipeline layout's states.

    terraform -chdir=cdktf.out/stacks/mlbatch-prod state pull > old.tfstate   # before switching
    .venv/bin/python tools/split_state.py old.tfstate mlbatch-prod --out split/
    # then, per stack S written to split/: terraform -chdir=cdktf.out/stacks/S init &&
    #   terraform -chdir=cdktf.out/stacks/S state push split/S.tfstate

The base stack keeps the environment's stack name, so its state key (or local file) is the one
the single stack used: what stays in ``split/<env stack>.tfstate`` is its state. Every resource of
the pipeline and dashboard stacks (read from ``cdktf.out/stacks/<stack>/cdk.tf.json``) is moved
with ``terraform state mv -state -state-out`` to that stack's own state file, at the same address
(both layouts build the same construct paths). ``moved`` blocks cannot do this: they only move
within one state. ``import`` blocks could, but need an import id per resource type and leave the
old state to be cleaned with ``removed`` blocks; a move keeps every attribute as it is.

The moves run in an empty directory (local backend), on copies: the input file is not changed.
Needs ``terraform`` (1.x) on PATH; no provider and no AWS access.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def stack_addresses(stack_dir: Path) -> list[str]:
    """The managed resource addresses a synthesized stack declares."""
    document = json.loads((stack_dir / "cdk.tf.json").read_text())
    return [
        f"{resource_type}.{name}"
        for resource_type, instances in sorted(document.get("resource", {}).items())
        for name in sorted(instances)
    ]


def managed_addresses(state: Path) -> set[str]:
    """The managed resource addresses a state file holds."""
    resources = json.loads(state.read_text()).get("resources", [])
    return {f"{r['type']}.{r['name']}" for r in resources if r.get("mode") == "managed"}


def move_addresses(
    source: Path, target: Path, addresses: list[str], terraform: str = "terraform"
) -> None:
    """Move ``addresses`` from the state file ``source`` to ``target`` (created if missing), at
    the same addresses, with every attribute as it is."""
    with tempfile.TemporaryDirectory() as workdir:  # no backend here: -state/-state-out apply
        for address in addresses:
            subprocess.run(
                [
                    terraform,
                    "state",
                    "mv",
                    "-lock=false",
                    f"-state={source.resolve()}",
                    f"-state-out={target.resolve()}",
                    # Backups go to the scratch directory: the source is a copy, or kept.
                    f"-backup={Path(workdir) / 'source.backup'}",
                    f"-backup-out={Path(workdir) / 'target.backup'}",
                    address,
                    address,
                ],
                cwd=workdir,
                check=True,
                capture_output=True,
            )


def split_state(
    state: Path, base_stack: str, stacks_dir: Path, out: Path, terraform: str = "terraform"
) -> dict[str, int]:
    """Write ``out/<stack>.tfstate`` for the base stack and each of its sibling stacks; return how
    many resources each received. Fails if an address is missing from the old state."""
    out.mkdir(parents=True, exist_ok=True)
    remaining = out / f"{base_stack}.tfstate"
    shutil.copyfile(state, remaining)
    present = managed_addresses(state)
    moved: dict[str, int] = {}
    siblings = sorted(p for p in stacks_dir.iterdir() if p.name.startswith(f"{base_stack}-"))
    for stack_dir in siblings:
        addresses = stack_addresses(stack_dir)
        missing = [a for a in addresses if a not in present]
        if missing:
            raise SystemExit(f"{stack_dir.name}: not in {state}: {', '.join(missing)}")
        move_addresses(remaining, out / f"{stack_dir.name}.tfstate", addresses, terraform)
        moved[stack_dir.name] = len(addresses)
    moved[base_stack] = len(managed_addresses(remaining))
    return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("state", type=Path, help="the one-stack state (terraform state pull)")
    parser.add_argument("stack", help="the environment's stack name, e.g. mlbatch-prod")
    parser.add_argument("--stacks", type=Path, default=Path("cdktf.out/stacks"))
    parser.add_argument("--out", type=Path, default=Path("split-state"))
    args = parser.parse_args(argv)
    for stack, count in split_state(args.state, args.stack, args.stacks, args.out).items():
        print(f"{args.out / (stack + '.tfstate')}: {count} resources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
