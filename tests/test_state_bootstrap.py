"""The state bootstrap stacks: one per pinned account and region, each applied by a provider pinned
to its account, one per bucket of an environment without account_id; named so that no name (and
so no state file or key) changes when an environment, account or region is added. A bucket that
says ``bootstrap: self-hosted`` keeps its bootstrap's own state, with the backend the other stacks
get. Synthesized through the app, on small configs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modules.naming import Names
from tests.test_config_cross_checks import parse, refused
from tools.state_recover import recovery_commands
from tools.synth import synthesize

PROD_ACCOUNT, OTHER_ACCOUNT = "123456789012", "210987654321"
Edit = Callable[[dict[str, Any]], None]


def _env(
    name: str, account: str | None, bucket: str, region: str | None = None, **state: Any
) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        env: dict[str, Any] = {"state": {"backend": "s3", "bucket": bucket, **state}}
        if account is not None:
            env["account_id"] = account
        if region is not None:
            env["state"]["region"] = region
        raw["environments"][name] = env

    return edit


def _staging(account: str | None, bucket: str, region: str | None = None) -> Edit:
    return _env("staging", account, bucket, region)


def _both(*edits: Edit) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        for one in edits:
            one(raw)

    return edit


def _bootstraps(tmp_path: Path, edit: Edit | None) -> dict[str, dict[str, Any]]:
    stacks = synthesize(parse(edit), tmp_path)
    return {name: doc for name, doc in stacks.items() if name.startswith("mlb-state")}


def _buckets(doc: dict[str, Any]) -> list[str]:
    return sorted(b["bucket"] for b in doc["resource"]["aws_s3_bucket"].values())


def _pinned(doc: dict[str, Any]) -> list[str] | None:
    [provider] = doc["provider"]["aws"]
    pinned: list[str] | None = provider.get("allowed_account_ids")
    return pinned


def _holding(boots: dict[str, dict[str, Any]], bucket: str) -> str:
    [name] = [name for name, doc in boots.items() if bucket in _buckets(doc)]
    return name


# --- stable names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "added",
    [
        _staging(PROD_ACCOUNT, "mlb-tfstate-staging"),
        _staging(OTHER_ACCOUNT, "mlb-tfstate-staging"),
        _staging(None, "mlb-tfstate-staging"),
        _staging(PROD_ACCOUNT, "mlb-tfstate-staging", region="us-east-1"),
    ],
    ids=["same-account", "second-account", "unpinned", "second-region"],
)
def test_adding_an_environment_never_renames_a_bootstrap(tmp_path: Path, added: Edit) -> None:
    before = _bootstraps(tmp_path / "before", None)
    after = _bootstraps(tmp_path / "after", added)
    [(name, doc)] = before.items()
    assert name == _holding(after, "mlb-tfstate-prod")
    # Its state file is named after it: the same file before and after.
    assert after[name]["terraform"]["backend"] == doc["terraform"]["backend"]
    assert name in json.dumps(doc["terraform"]["backend"])


def test_one_account_keeps_its_buckets_in_one_bootstrap_named_by_account_and_region(
    tmp_path: Path,
) -> None:
    boots = _bootstraps(tmp_path, _staging(PROD_ACCOUNT, "mlb-tfstate-staging"))
    assert list(boots) == [f"mlb-state-{PROD_ACCOUNT}-eu-west-1"]
    [doc] = boots.values()
    assert _buckets(doc) == ["mlb-tfstate-prod", "mlb-tfstate-staging"]
    assert _pinned(doc) == [PROD_ACCOUNT]


def test_each_account_gets_its_own_pinned_bootstrap(tmp_path: Path) -> None:
    boots = _bootstraps(tmp_path, _staging(OTHER_ACCOUNT, "mlb-tfstate-staging"))
    for account, bucket in (
        (PROD_ACCOUNT, "mlb-tfstate-prod"),
        (OTHER_ACCOUNT, "mlb-tfstate-staging"),
    ):
        name = _holding(boots, bucket)
        assert _pinned(boots[name]) == [account]
        assert _buckets(boots[name]) == [bucket]
        # Its own local state file: applying one account's never touches the other's.
        assert boots[name]["terraform"]["backend"]["local"]["path"].endswith(
            f"terraform.{name}.tfstate"
        )
    assert len(boots) == 2


def test_each_unpinned_bucket_gets_a_bootstrap_of_its_own(tmp_path: Path) -> None:
    # Two environments without account_id may deploy to two accounts: never one stack for both.
    edit = _both(_staging(None, "mlb-tfstate-staging"), _env("qa", None, "mlb-tfstate-qa"))
    boots = _bootstraps(tmp_path, edit)
    assert sorted(boots) == [
        f"mlb-state-{PROD_ACCOUNT}-eu-west-1",
        "mlb-state-unpinned-mlb-tfstate-qa",
        "mlb-state-unpinned-mlb-tfstate-staging",
    ]
    assert _pinned(boots["mlb-state-unpinned-mlb-tfstate-qa"]) is None
    assert _buckets(boots["mlb-state-unpinned-mlb-tfstate-qa"]) == ["mlb-tfstate-qa"]


def test_an_account_with_state_in_two_regions_gets_one_bootstrap_per_region(
    tmp_path: Path,
) -> None:
    edit = _staging(PROD_ACCOUNT, "mlb-tfstate-staging", region="us-east-1")
    boots = _bootstraps(tmp_path, edit)
    regions = {name: doc["provider"]["aws"][0]["region"] for name, doc in boots.items()}
    assert regions == {
        f"mlb-state-{PROD_ACCOUNT}-eu-west-1": "eu-west-1",
        f"mlb-state-{PROD_ACCOUNT}-us-east-1": "us-east-1",
    }
    assert all(_pinned(doc) == [PROD_ACCOUNT] for doc in boots.values())


def test_each_backend_names_the_key_in_the_account_of_its_bootstrap(tmp_path: Path) -> None:
    stacks = synthesize(parse(_staging(OTHER_ACCOUNT, "mlb-tfstate-staging")), tmp_path)
    for env, account in (("prod", PROD_ACCOUNT), ("staging", OTHER_ACCOUNT)):
        backend = stacks[f"mlb-{env}"]["terraform"]["backend"]["s3"]
        boot = stacks[f"mlb-state-{account}-eu-west-1"]
        [alias] = boot["resource"]["aws_kms_alias"].values()
        assert backend["kms_key_id"] == f"arn:aws:kms:eu-west-1:{account}:{alias['name']}"
        assert backend["bucket"] in _buckets(boot)


# --- self-hosted bootstrap state --------------------------------------------------------------


def _self_hosted(raw: dict[str, Any]) -> None:
    raw["environments"]["prod"]["state"]["bootstrap"] = "self-hosted"


def test_a_self_hosted_bootstrap_keeps_its_state_in_its_bucket_like_the_other_stacks(
    tmp_path: Path,
) -> None:
    local = _bootstraps(tmp_path / "local", None)
    stacks = synthesize(parse(_self_hosted), tmp_path / "hosted")
    [(name, local_doc)] = local.items()
    assert set(local_doc["terraform"]["backend"]) == {"local"}
    backend = stacks[name]["terraform"]["backend"]
    prod = stacks["mlb-prod"]["terraform"]["backend"]["s3"]
    [alias] = stacks[name]["resource"]["aws_kms_alias"].values()
    assert backend == {
        "s3": {
            "bucket": "mlb-tfstate-prod",
            "key": Names.state_key("cdktf", name),
            "region": "eu-west-1",
            "encrypt": True,
            "kms_key_id": f"arn:aws:kms:eu-west-1:{PROD_ACCOUNT}:{alias['name']}",
            "use_lockfile": True,
        }
    }
    assert backend["s3"]["key"] != prod["key"]
    # Nothing else of the stack changes: the same resources, the same outputs.
    assert stacks[name]["resource"] == local_doc["resource"]


def test_a_self_hosted_bootstrap_locks_with_the_table_its_bucket_names(tmp_path: Path) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["environments"]["prod"]["state"] |= {
            "bootstrap": "self-hosted",
            "key_prefix": "tf/state",
            "lock": "dynamodb",
            "dynamodb_table": "mlb-locks",
        }

    [(name, doc)] = _bootstraps(tmp_path, edit).items()
    backend = doc["terraform"]["backend"]["s3"]
    assert backend["dynamodb_table"] == "mlb-locks" and "use_lockfile" not in backend
    assert backend["key"] == Names.state_key("tf/state", name)
    # The table it locks with is one it creates.
    tables = [t["name"] for t in doc["resource"]["aws_dynamodb_table"].values()]
    assert tables == ["mlb-locks"]


def test_an_unpinned_self_hosted_bootstrap_names_its_key_by_alias(tmp_path: Path) -> None:
    edit = _env("staging", None, "mlb-tfstate-staging", bootstrap="self-hosted")
    boots = _bootstraps(tmp_path, edit)
    backend = boots["mlb-state-unpinned-mlb-tfstate-staging"]["terraform"]["backend"]["s3"]
    assert backend["kms_key_id"] == Names.state_key_alias("mlb-tfstate-staging")
    assert set(boots[f"mlb-state-{PROD_ACCOUNT}-eu-west-1"]["terraform"]["backend"]) == {"local"}


def test_one_bootstrap_is_hosted_by_one_bucket() -> None:
    edit = _both(
        _self_hosted, _env("staging", PROD_ACCOUNT, "mlb-tfstate-staging", bootstrap="self-hosted")
    )
    message = refused(edit)
    assert "mlb-tfstate-prod and mlb-tfstate-staging" in message
    assert "set bootstrap: self-hosted on one of them only" in message
    # In another account (another bootstrap), each may host its own.
    parse(
        _both(
            _self_hosted,
            _env("staging", OTHER_ACCOUNT, "mlb-tfstate-staging", bootstrap="self-hosted"),
        )
    )


def test_environments_hosting_one_bootstrap_agree_on_its_backend() -> None:
    shared = _env(
        "staging", PROD_ACCOUNT, "mlb-tfstate-prod", bootstrap="self-hosted", key_prefix="x"
    )
    message = refused(_both(_self_hosted, shared))
    assert "different key_prefix, lock or dynamodb_table" in message
    same = _env("staging", PROD_ACCOUNT, "mlb-tfstate-prod", bootstrap="self-hosted")
    parse(_both(_self_hosted, same))


# --- recovering a lost local state (tools/state_recover.py) -----------------------------------


def test_recovery_imports_every_resource_of_the_bootstrap_by_its_documented_id(
    tmp_path: Path,
) -> None:
    edit = _env(
        "prod", PROD_ACCOUNT, "mlb-tfstate-prod", lock="dynamodb", dynamodb_table="mlb-locks"
    )
    [(name, doc)] = _bootstraps(tmp_path, edit).items()
    commands = recovery_commands(tmp_path / "stacks" / name)
    chdir = f"terraform -chdir={tmp_path / 'stacks' / name}"
    assert commands[0] == f"{chdir} init" and commands[-1].startswith(f"{chdir} plan")
    imported = {c.split()[3]: c.split(" ", 4)[4] for c in commands[1:-1]}
    addresses = {f"{t}.{n}" for t, instances in doc["resource"].items() for n in instances}
    assert set(imported) == addresses
    by_type = {address.split(".")[0]: word for address, word in imported.items()}
    alias = Names.state_key_alias("mlb-tfstate-prod")
    assert by_type.pop("aws_kms_key") == (
        f'"$(aws kms describe-key --region eu-west-1 --key-id {alias} '
        '--query KeyMetadata.KeyId --output text)"'
    )
    assert by_type.pop("aws_kms_alias") == alias
    assert by_type.pop("aws_dynamodb_table") == "mlb-locks"
    # The bucket and each of its settings: by the bucket's name.
    assert set(by_type.values()) == {"mlb-tfstate-prod"} and len(by_type) >= 2


def test_recovery_stops_at_a_resource_it_has_no_import_id_for(tmp_path: Path) -> None:
    [(name, doc)] = _bootstraps(tmp_path, None).items()
    doc["resource"]["aws_sns_topic"] = {"t": {"name": "x"}}
    (tmp_path / "stacks" / name / "cdk.tf.json").write_text(json.dumps(doc))
    with pytest.raises(SystemExit, match=r"no import id known for aws_sns_topic\.t"):
        recovery_commands(tmp_path / "stacks" / name)
