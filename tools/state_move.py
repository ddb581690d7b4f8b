"""Move the state bootstraps' local state files from their old names to the stable ones.

    make state-move            # = make synth, then: .venv/bin/python -m tools.state_move

Before 0.6 a bootstrap was ``<project>-state`` while every state bucket was in one account (and
region), and took ``-<account>`` / ``-unpinned`` / ``-<region>`` only once a second one appeared,
so adding an account renamed the first one's stack and its state file. Now every bootstrap is
named by its own facts (``modules.stack_names.bootstrap_stack_name``). This moves each old file
(``terraform.<old>.tfstate`` at the project root, where a bootstrap keeps local state) to the new
stack's: a rename where one old stack became one new stack; otherwise (an old stack of several
unpinned buckets, which now have a bootstrap each) each new stack's resources are moved into its
own file with ``terraform state mv``, as ``tools/split_state.py`` splits an environment.

Nothing is overwritten: a new file that exists already is left as it is (said on screen). The old
file is kept as ``<old>.moved`` until you delete it after a clean plan. Needs the synthesized
stacks (``--stacks``) and, for a split, ``terraform`` on PATH; no provider and no AWS access.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from modules.config import LocalState, ProjectConfig, load_config
from modules.stack_names import bootstrap_stack_prefix, state_bootstraps
from tools.split_state import managed_addresses, move_addresses, stack_addresses
from tools.state_arguments import state_tool_arguments


def legacy_bootstraps(config: ProjectConfig) -> dict[str, list[str]]:
    """The bootstrap stacks the config had before the stable names: old name -> its buckets."""
    groups: dict[tuple[str | None, str], list[str]] = {}
    for env, state in config.s3_states:
        buckets = groups.setdefault((env.account_id, state.region or env.region), [])
        if state.bucket not in buckets:
            buckets.append(state.bucket)
    accounts = {account for account, _ in groups}
    legacy: dict[str, list[str]] = {}
    for (account, region), buckets in groups.items():
        regions = {r for a, r in groups if a == account}
        parts = [
            (account or "unpinned") if len(accounts) > 1 else None,
            region if len(regions) > 1 else None,
        ]
        name = "-".join([bootstrap_stack_prefix(config.project), *(p for p in parts if p)])
        legacy[name] = sorted(buckets)
    return legacy


def state_file(project_dir: Path, stack: str) -> Path:
    """Where a bootstrap keeps its local state (the default local backend's file)."""
    return project_dir / LocalState(backend="local").state_path.format(stack=stack)


def move_bootstrap_states(
    config: ProjectConfig, project_dir: Path, stacks_dir: Path, terraform: str = "terraform"
) -> list[str]:
    """Move every old bootstrap state file of ``config`` to its new stack's; return what was done,
    one line each."""
    new_stack_of = {
        store.bucket: boot.name for boot in state_bootstraps(config) for store in boot.stores
    }
    done: list[str] = []
    for old, buckets in legacy_bootstraps(config).items():
        source = state_file(project_dir, old)
        targets = sorted({new_stack_of[bucket] for bucket in buckets})
        if targets == [old] or not source.exists():
            continue
        waiting = [t for t in targets if not state_file(project_dir, t).exists()]
        for target in sorted(set(targets) - set(waiting)):
            done.append(f"{state_file(project_dir, target)} exists: left as it is")
        if not waiting:
            continue
        if waiting != targets:
            raise SystemExit(
                f"{source}: moved only in part before ({', '.join(waiting)} missing); restore "
                "the new files from their .moved source and run again"
            )
        if len(targets) == 1:
            shutil.copyfile(source, state_file(project_dir, targets[0]))
        else:
            present = managed_addresses(source)
            for target in targets:
                addresses = stack_addresses(stacks_dir / target)
                missing = [a for a in addresses if a not in present]
                if missing:
                    raise SystemExit(f"{target}: not in {source}: {', '.join(missing)}")
            work = source.with_name(f"{source.name}.splitting")
            shutil.copyfile(source, work)
            for target in targets:
                addresses = stack_addresses(stacks_dir / target)
                move_addresses(work, state_file(project_dir, target), addresses, terraform)
            work.unlink()
        source.rename(source.with_name(f"{source.name}.moved"))
        done.append(f"{source} -> {', '.join(str(state_file(project_dir, t)) for t in targets)}")
    return done


def main(argv: list[str] | None = None) -> int:
    args = state_tool_arguments(__doc__.splitlines()[0], argv)
    done = move_bootstrap_states(load_config(args.config), args.project_dir, args.stacks)
    print("\n".join(done) if done else "state-move: no old bootstrap state file to move")
    return 0


if __name__ == "__main__":
    sys.exit(main())
