"""One state bootstrap stack per account (and per region where an account keeps state in
several), each applied by a provider pinned to its account; environments without account_id get
a bootstrap of their own, never a pinned one's. Synthesized through the app, on small configs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.test_config_cross_checks import parse
from tools.synth import synthesize


def _staging(account: str | None, bucket: str, region: str | None = None) -> Callable[..., None]:
    def edit(raw: dict[str, Any]) -> None:
        staging: dict[str, Any] = {"state": {"backend": "s3", "bucket": bucket}}
        if account is not None:
            staging["account_id"] = account
        if region is not None:
            staging["state"]["region"] = region
        raw["environments"]["staging"] = staging

    return edit


def _bootstraps(tmp_path: Path, edit: Callable[..., None] | None) -> dict[str, dict[str, Any]]:
    stacks = synthesize(parse(edit), tmp_path)
    return {name: doc for name, doc in stacks.items() if name.startswith("mlb-state")}


def _buckets(doc: dict[str, Any]) -> list[str]:
    return sorted(b["bucket"] for b in doc["resource"]["aws_s3_bucket"].values())


def _pinned(doc: dict[str, Any]) -> list[str] | None:
    [provider] = doc["provider"]["aws"]
    pinned: list[str] | None = provider.get("allowed_account_ids")
    return pinned


def test_one_account_keeps_one_bootstrap_named_as_before(tmp_path: Path) -> None:
    boots = _bootstraps(tmp_path, _staging("123456789012", "mlb-tfstate-staging"))
    assert list(boots) == ["mlb-state"]
    assert _buckets(boots["mlb-state"]) == ["mlb-tfstate-prod", "mlb-tfstate-staging"]
    assert _pinned(boots["mlb-state"]) == ["123456789012"]


def test_each_account_gets_its_own_pinned_bootstrap(tmp_path: Path) -> None:
    boots = _bootstraps(tmp_path, _staging("210987654321", "mlb-tfstate-staging"))
    assert sorted(boots) == ["mlb-state-123456789012", "mlb-state-210987654321"]
    for account, bucket in (
        ("123456789012", "mlb-tfstate-prod"),
        ("210987654321", "mlb-tfstate-staging"),
    ):
        doc = boots[f"mlb-state-{account}"]
        assert _pinned(doc) == [account]
        assert _buckets(doc) == [bucket]
        # Its own local state file: applying one account's never touches the other's.
        assert doc["terraform"]["backend"]["local"]["path"].endswith(
            f"terraform.mlb-state-{account}.tfstate"
        )


def test_unpinned_environments_get_a_bootstrap_apart_from_pinned_ones(tmp_path: Path) -> None:
    boots = _bootstraps(tmp_path, _staging(None, "mlb-tfstate-staging"))
    assert sorted(boots) == ["mlb-state-123456789012", "mlb-state-unpinned"]
    assert _pinned(boots["mlb-state-123456789012"]) == ["123456789012"]
    assert _pinned(boots["mlb-state-unpinned"]) is None
    assert _buckets(boots["mlb-state-unpinned"]) == ["mlb-tfstate-staging"]


def test_an_account_with_state_in_two_regions_gets_one_bootstrap_per_region(
    tmp_path: Path,
) -> None:
    edit = _staging("123456789012", "mlb-tfstate-staging", region="us-east-1")
    boots = _bootstraps(tmp_path, edit)
    assert sorted(boots) == ["mlb-state-eu-west-1", "mlb-state-us-east-1"]
    regions = {name: doc["provider"]["aws"][0]["region"] for name, doc in boots.items()}
    assert regions == {"mlb-state-eu-west-1": "eu-west-1", "mlb-state-us-east-1": "us-east-1"}
    assert all(_pinned(doc) == ["123456789012"] for doc in boots.values())


def test_an_account_of_several_with_state_in_two_regions_names_both(tmp_path: Path) -> None:
    def edit(raw: dict[str, Any]) -> None:
        _staging("210987654321", "mlb-tfstate-staging", region="us-east-1")(raw)
        raw["environments"]["qa"] = {
            "account_id": "210987654321",
            "state": {"backend": "s3", "bucket": "mlb-tfstate-qa"},
        }

    boots = _bootstraps(tmp_path, edit)
    assert sorted(boots) == [
        "mlb-state-123456789012",
        "mlb-state-210987654321-eu-west-1",
        "mlb-state-210987654321-us-east-1",
    ]
    assert _buckets(boots["mlb-state-210987654321-us-east-1"]) == ["mlb-tfstate-staging"]
    assert _buckets(boots["mlb-state-210987654321-eu-west-1"]) == ["mlb-tfstate-qa"]


def test_each_backend_names_the_key_in_the_account_of_its_bootstrap(tmp_path: Path) -> None:
    stacks = synthesize(parse(_staging("210987654321", "mlb-tfstate-staging")), tmp_path)
    for env, account in (("prod", "123456789012"), ("staging", "210987654321")):
        backend = stacks[f"mlb-{env}"]["terraform"]["backend"]["s3"]
        boot = stacks[f"mlb-state-{account}"]
        [alias] = boot["resource"]["aws_kms_alias"].values()
        assert backend["kms_key_id"] == f"arn:aws:kms:eu-west-1:{account}:{alias['name']}"
        assert backend["bucket"] in _buckets(boot)
    assert json.dumps(stacks).count("allowed_account_ids") >= 4
