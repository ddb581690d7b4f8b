"""`make plan ENV=<env>`: plan every stack of one environment, in deploy order, as plan JSON.

    python -m tools.plan_review.plan --env prod [--plans plans] [--outdir cdktf.out]

Synthesizes the environment (PIPELINE_ENVIRONMENTS=<env>), reads the stacks and their
dependencies from `cdktf.out/manifest.json` (so one stack per environment or one per pipeline
both work), then per stack: `terraform init`, `terraform plan -out`, `terraform show -json` into
`plans/<stack>.json` for `make plan-review`. It needs AWS credentials and the hashicorp/aws
provider: where either is missing it says so in one line and exits 1 before running any plan.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXIT_FAILED = 1


class PlanFailed(Exception):
    """One line saying why no plan could be made."""


def deploy_order(manifest: Mapping[str, Any]) -> list[str]:
    """Stacks of a cdktf manifest, each after the stacks it depends on (ties by name)."""
    stacks: dict[str, list[str]] = {
        name: sorted(stack.get("dependencies") or []) for name, stack in manifest["stacks"].items()
    }
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise PlanFailed(f"stack dependencies form a cycle through {name}")
        visiting.add(name)
        for dependency in stacks.get(name, []):
            visit(dependency)
        visiting.discard(name)
        order.append(name)

    for name in sorted(stacks):
        visit(name)
    return order


def _run(
    command: Sequence[str], cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), cwd=cwd, env=dict(env), capture_output=True, text=True, check=False
    )


def _first_error(stderr: str, limit: int = 240) -> str:
    """Terraform's first error as one line: its title and the first sentence of its detail."""
    lines = [line.strip("│╷╵ ").strip() for line in stderr.splitlines()]
    for index, line in enumerate(lines):
        if line.startswith("Error:"):
            detail: list[str] = []
            for following in lines[index + 1 :]:
                if not following and detail:
                    break
                if following:
                    detail.append(following)
            text = line.removeprefix("Error:").strip()
            if detail:
                text += ": " + " ".join(detail)
            return text if len(text) <= limit else text[: limit - 1] + "…"
    return next((line for line in lines if line), "no output")[:limit]


def missing_credentials() -> str | None:
    """Why botocore (the AWS provider's credential chain, in short) finds no credentials."""
    import botocore.session

    try:
        credentials = botocore.session.Session().get_credentials()
    except Exception as error:  # a broken profile is as fatal as none
        return f"no usable AWS credentials ({error})"
    if credentials is None:
        return (
            "no AWS credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "or assume a role with OIDC in CI)"
        )
    return None


def missing_provider(stack_dir: Path, env: Mapping[str, str]) -> str | None:
    """Why `terraform init` cannot install the stack's providers (backend left out: no
    credentials needed for this probe; its working files go to a temporary directory)."""
    with tempfile.TemporaryDirectory() as data_dir:
        try:
            result = _run(
                ["terraform", "init", "-backend=false", "-input=false", "-no-color"],
                stack_dir,
                {**env, "TF_DATA_DIR": data_dir},
            )
        except FileNotFoundError:
            return "terraform is not installed"
    if result.returncode != 0:
        return f"terraform cannot install the AWS provider ({_first_error(result.stderr)})"
    return None


def synthesize(environment: str, outdir: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The environment synthesized into ``outdir`` (no state bootstrap): its cdktf manifest."""
    from tools.synth import start_app

    synth = start_app(REPO, outdir, environments=[environment], env=env)
    _, stderr = synth.communicate()
    if synth.returncode != 0:
        raise PlanFailed(_first_error(stderr).removeprefix("config error: "))
    manifest: dict[str, Any] = json.loads((outdir / "manifest.json").read_text())
    return manifest


def plan_environment(environment: str, outdir: Path, plans: Path) -> list[Path]:
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    if outdir.exists():
        import shutil

        shutil.rmtree(outdir)
    manifest = synthesize(environment, outdir, env)
    order = deploy_order(manifest)
    if not order:
        raise PlanFailed(f"environment {environment} synthesized no stack")
    first_dir = outdir / manifest["stacks"][order[0]]["workingDirectory"]
    missing = [m for m in (missing_credentials(), missing_provider(first_dir, env)) if m]
    if missing:
        raise PlanFailed(f"cannot plan {environment}: " + "; and ".join(missing))

    plans.mkdir(parents=True, exist_ok=True)
    written = []
    for stack in order:
        stack_dir = outdir / manifest["stacks"][stack]["workingDirectory"]
        binary = (plans / f"{stack}.tfplan").resolve()
        steps = [
            ["terraform", "init", "-input=false", "-no-color"],
            [
                "terraform",
                "plan",
                "-input=false",
                "-no-color",
                "-lock-timeout=120s",
                f"-out={binary}",
            ],
        ]
        for step in steps:
            result = _run(step, stack_dir, env)
            if result.returncode != 0:
                raise PlanFailed(f"{stack}: {' '.join(step[:2])}: {_first_error(result.stderr)}")
        shown = _run(["terraform", "show", "-json", str(binary)], stack_dir, env)
        if shown.returncode != 0:
            raise PlanFailed(f"{stack}: terraform show: {_first_error(shown.stderr)}")
        target = plans / f"{stack}.json"
        target.write_text(shown.stdout)
        written.append(target)
        print(f"planned {stack} -> {target}", file=sys.stderr)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plan", description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="environment name from the config")
    parser.add_argument("--plans", type=Path, default=REPO / "plans", help="where plan JSON goes")
    parser.add_argument("--outdir", type=Path, default=REPO / "cdktf.out", help="synth output")
    args = parser.parse_args(argv)
    try:
        written = plan_environment(args.env, args.outdir.resolve(), args.plans)
    except PlanFailed as error:
        print(f"make plan: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(" ".join(str(path) for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
