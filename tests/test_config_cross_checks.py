"""Config rules across fields and environments that synthesize cleanly and then fail at apply, at
run time, or leak: model sources in another region, pipelines sharing or nesting prefixes, an
environment named like the state bootstrap, a state bucket shared across accounts; and the bounds
of kms_deletion_window_days and pipeline names, checked at their boundaries.

Each config is a small one written here (no test reads the team's own config)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from modules.config import ConfigError, ProjectConfig, load_config, parse_config
from modules.config.aws_facts import KMS_PENDING_WINDOW_DAYS
from tests.conftest import CONFIGS, stacks_of
from tests.test_config_app import run_app

IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
REPOSITORY = "arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-xgboost"

SMALL: dict[str, Any] = {
    "project": "mlb",
    "defaults": {"region": "eu-west-1"},
    "pipelines": [
        {
            "name": "churn",
            "model": {"image": IMAGE, "artifact_key": "churn/model.tar.gz"},
            "schedule": {"expression": "cron(0 2 * * ? *)"},
        },
        {
            "name": "ltv",
            "model": {"model_package_group": "ltv-models", "ecr_repository_arns": [REPOSITORY]},
            "schedule": {"expression": "rate(1 day)"},
        },
    ],
    "environments": {
        "dev": {"state": {"backend": "local"}},
        "prod": {
            "account_id": "123456789012",
            "state": {"backend": "s3", "bucket": "mlb-tfstate-prod"},
        },
    },
}


def small(edit: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    raw = copy.deepcopy(SMALL)
    if edit is not None:
        edit(raw)
    return raw


def parse(edit: Callable[[dict[str, Any]], None] | None = None) -> ProjectConfig:
    return parse_config(small(edit), "small.yaml")


def refused(edit: Callable[[dict[str, Any]], None]) -> str:
    with pytest.raises(ConfigError) as raised:
        parse(edit)
    message = str(raised.value)
    # Every mistake is reported, one line each (a pipeline wrong in both environments: two).
    assert all(line.startswith("small.yaml: ") for line in message.splitlines())
    return message


def test_the_small_config_is_valid() -> None:
    assert list(parse().environments) == ["dev", "prod"]


# --- 2. model sources in the environment's region ------------------------------------------


def _prod_in(region: str) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        raw["environments"]["prod"]["region"] = region

    return edit


def test_image_in_another_region_is_refused_naming_field_and_regions() -> None:
    message = refused(_prod_in("us-east-1"))
    assert (
        "small.yaml: pipelines[churn].model.image (in environment 'prod'): is in eu-west-1, but "
        "the environment's region is us-east-1; SageMaker needs the model's image"
    ) in message


def test_registry_repository_in_another_region_is_refused() -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["pipelines"] = raw["pipelines"][1:]
        raw["environments"]["prod"]["region"] = "us-east-1"

    message = refused(edit)
    assert (
        "pipelines[ltv].model.ecr_repository_arns[0] (in environment 'prod'): is in eu-west-1"
        in (message)
    )


def test_model_package_in_another_region_is_refused() -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["pipelines"][1]["model"] = {
            "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/ltv/3",
            "ecr_repository_arns": [REPOSITORY],
        }

    message = refused(edit)
    # Wrong in every environment: no environment named.
    assert (
        "small.yaml: pipelines[ltv].model.model_package_arn: is in us-east-1, but the " in message
    )
    assert "region is eu-west-1" in message


def test_sources_in_the_environments_region_are_accepted() -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["defaults"]["region"] = "us-east-1"
        for pipeline in raw["pipelines"]:
            model = pipeline["model"]
            if "image" in model:
                model["image"] = model["image"].replace("eu-west-1", "us-east-1")
            else:
                model["ecr_repository_arns"] = [REPOSITORY.replace("eu-west-1", "us-east-1")]

    config = parse(edit)
    churn = config.environments["prod"].pipelines[0]
    assert churn.model.source_regions() == [(("image",), "us-east-1")]


# --- 3. pipelines sharing or nesting prefixes ------------------------------------------------


@pytest.mark.parametrize(
    ("field", "first", "second", "verb"),
    [
        ("output_prefix", "predictions/", "predictions/", "is"),
        ("input_prefix", "data/", "data/ltv/", "contains"),
        ("output_prefix", "out/", "out/ltv/", "contains"),
        ("input_prefix", "data/ltv/", "data/", "contains"),  # either order
    ],
)
def test_pipelines_sharing_or_nesting_a_prefix_are_refused(
    field: str, first: str, second: str, verb: str
) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["pipelines"][0][field] = first
        raw["pipelines"][1][field] = second

    message = refused(edit)
    outer, inner = (first, second) if len(first) <= len(second) else (second, first)
    assert f"{field} {outer!r} {verb} {inner!r}" in message
    assert "could read and overwrite the other's data" in message


def test_a_default_prefix_inside_another_pipelines_prefix_is_refused() -> None:
    # ltv's default prefix ltv/ is under churn's explicit prefix "ltv/".
    def edit(raw: dict[str, Any]) -> None:
        raw["pipelines"][0]["input_prefix"] = "ltv/"

    assert "input_prefix 'ltv/' is 'ltv/'" in refused(edit)


def test_sibling_prefixes_are_accepted() -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["pipelines"][0]["input_prefix"] = "data/churn/"
        raw["pipelines"][1]["input_prefix"] = "data/churn-eu/"  # not under data/churn/
        raw["pipelines"][0]["output_prefix"] = raw["pipelines"][1]["output_prefix"] = None

    config = parse(edit)
    assert [p.default_input_prefix for p in config.environments["dev"].pipelines] == [
        "data/churn/",
        "data/churn-eu/",
    ]


# --- 5. freshness and the schedule's start and end dates ---------------------------------------


@pytest.mark.parametrize(
    "dates",
    [
        {"start_date": "2099-01-01T00:00:00Z"},
        {"end_date": "2099-01-01T00:00:00Z"},
        {"start_date": "2099-01-01T00:00:00Z", "end_date": "2100-01-01T00:00:00Z"},
    ],
)
def test_a_dated_schedule_gets_no_freshness_alarm(dates: dict[str, str]) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["pipelines"][0]["schedule"].update(dates)

    assert parse().environments["prod"].pipelines[0].freshness_window_hours is not None
    assert parse(edit).environments["prod"].pipelines[0].freshness_window_hours is None

    def explicit(raw: dict[str, Any]) -> None:
        edit(raw)
        raw["pipelines"][0]["alarms"] = {"freshness_window_hours": 30}

    message = refused(explicit)
    assert f"a schedule with {' and '.join(dates)} has no freshness alarm" in message


# --- 7. an environment named like the state bootstrap -----------------------------------------


def test_an_environment_named_state_is_refused() -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["environments"]["state"] = raw["environments"].pop("dev")

    message = refused(edit)
    assert "environments.state.name: environment name 'state' is reserved" in message
    assert "<project>-state is the state bootstrap stack" in message


# --- 9. a state bucket belongs to one account --------------------------------------------------


@pytest.mark.parametrize(
    ("account", "shown"), [("210987654321", "210987654321"), (None, "not pinned")]
)
def test_a_state_bucket_shared_across_accounts_is_refused(account: str | None, shown: str) -> None:
    def edit(raw: dict[str, Any]) -> None:
        staging: dict[str, Any] = {"state": {"backend": "s3", "bucket": "mlb-tfstate-prod"}}
        if account is not None:
            staging["account_id"] = account
        raw["environments"]["staging"] = staging

    message = refused(edit)
    assert "environments.staging.state.bucket: state bucket mlb-tfstate-prod is used by " in (
        message
    )
    assert f"environment 'prod' (account 123456789012) and here (account {shown})" in message


# --- kms_deletion_window_days: KMS's own bounds (7 to 30, its API reference's prose) -----------


@pytest.mark.parametrize("days", [6, 7, 30, 31])
def test_kms_deletion_window_accepts_exactly_what_kms_does(days: int) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["environments"]["dev"]["kms_deletion_window_days"] = days

    if 7 <= days <= 30:
        assert parse(edit).environments["dev"].kms_deletion_window_days == days
    else:
        assert "environments.dev.kms_deletion_window_days: Input should be" in refused(edit)
    assert KMS_PENDING_WINDOW_DAYS == (7, 30)


# --- pipeline names: the names built from them are the guard ----------------------------------


def test_pipeline_name_length_is_bounded_by_the_names_built_from_it_only() -> None:
    # "ab-cd-" is 6 characters, a run name adds "-" and 32 hex: 63 - 39 = 24 characters left.
    def named(name: str) -> Callable[[dict[str, Any]], None]:
        def edit(raw: dict[str, Any]) -> None:
            raw["project"] = "ab"
            raw["environments"] = {"cd": raw["environments"]["dev"]}
            raw["pipelines"] = raw["pipelines"][:1]
            raw["pipelines"][0]["name"] = name

        return edit

    assert parse(named("p" * 24)).environments["cd"].pipelines[0].name == "p" * 24
    message = refused(named("p" * 25))
    assert "is 64 characters; botocore's sagemaker model (CreateTransformJob.TransformJobName)" in (
        message
    )


# --- the app: exit 2, one line, nothing written -----------------------------------------------


def _env_named_state(raw: dict[str, Any]) -> None:
    raw["environments"]["state"] = raw["environments"].pop("dev")


def _nested_outputs(raw: dict[str, Any]) -> None:
    raw["pipelines"][0]["output_prefix"] = raw["pipelines"][1]["output_prefix"] = "predictions/"


def _churn_image_in_us_east_1(raw: dict[str, Any]) -> None:
    raw["pipelines"][0]["model"]["image"] = IMAGE.replace("eu-west-1", "us-east-1")


def _staging_shares_prod_bucket(raw: dict[str, Any]) -> None:
    raw["environments"]["staging"] = {
        "account_id": "210987654321",
        "state": {"backend": "s3", "bucket": "mlb-tfstate-prod"},
    }


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_env_named_state, "environments.state.name: environment name 'state' is reserved"),
        (_churn_image_in_us_east_1, "pipelines[churn].model.image: is in us-east-1"),
        (_nested_outputs, "output_prefix 'predictions/' is 'predictions/'"),
        (_staging_shares_prod_bucket, "state bucket mlb-tfstate-prod is used by"),
    ],
    ids=["environment-state", "image-region", "shared-output-prefix", "bucket-across-accounts"],
)
def test_app_refuses_with_exit_2_one_line_and_writes_nothing(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(small(edit)))
    result = run_app(tmp_path, config)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"config error: {config}:")
    assert expected in result.stderr
    assert not (tmp_path / "cdktf.out").exists()


# --- run-input keys that Scheduler or the event trigger set: never from a payload -------------

# Written out here, not read from RESERVED_PAYLOAD_KEYS, so that a key dropped from it fails.
SET_BY_THE_STARTERS = ["trigger", "scheduled_time", "marker_key"]


def test_the_reserved_keys_are_those_the_starters_set_and_the_workflow_reads(
    stacks: dict[str, dict[str, Any]],
) -> None:
    """Keys of the schedule's and the event rule's run input that a state machine reads: a
    payload that set one would change what every scheduled run does."""
    set_keys: set[str] = set()
    read: set[str] = set()
    for document in stacks_of(stacks, "all-features").values():
        resources = document.get("resource", {})
        for schedule in resources.get("aws_scheduler_schedule", {}).values():
            set_keys |= set(json.loads(schedule["target"]["input"]))
        for target in resources.get("aws_cloudwatch_event_target", {}).values():
            template = target.get("input_transformer", {}).get("input_template")
            if template and "trigger" in template:
                set_keys |= set(json.loads(re.sub(r"<\w+>", '"x"', template)))
        for machine in resources.get("aws_sfn_state_machine", {}).values():
            definition = machine["definition"]
            read |= set(re.findall(r"\$(?:states\.input)?\.([a-z_]+)", definition))
    payload_keys = set().union(
        *(
            p.schedule.payload
            for p in load_config(CONFIGS["all-features"]).environments["stage"].pipelines
        )
    )
    assert (set_keys - payload_keys) & read == set(SET_BY_THE_STARTERS)


@pytest.mark.parametrize("key", SET_BY_THE_STARTERS)
def test_a_payload_may_not_set_a_key_the_starters_set(key: str) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["pipelines"][0]["schedule"]["payload"] = {key: "churn/2026-01-01/_SUCCESS"}

    assert f"pipelines[churn].schedule.payload: {key} may not be set" in refused(edit)


# --- 6. freshness and how late and long a run may be ------------------------------------------


def _late_and_long(raw: dict[str, Any]) -> None:
    """The review's example: a daily run that may start an hour late and run 12 hours."""
    churn = raw["pipelines"][0]
    churn["schedule"]["flexible_window_minutes"] = 60
    churn["transform"] = {**churn.get("transform", {}), "timeout_minutes": 720}


def test_the_derived_window_outlasts_a_late_start_and_a_long_run() -> None:
    # An early, fast run, then one starting 1 h late and running 12 h: 24 + 1 + 12 h apart.
    window = parse(_late_and_long).environments["prod"].pipelines[0].freshness_window_hours
    assert window is not None and window > 24 + 1 + 12


def test_an_explicit_window_shorter_than_a_late_long_run_is_refused() -> None:
    def edit(raw: dict[str, Any]) -> None:
        _late_and_long(raw)
        raw["pipelines"][0]["alarms"] = {"freshness_window_hours": 37}

    assert "alarms.freshness_window_hours: 37 is too short: at least " in refused(edit)
    # The same window suffices for the same schedule with quick runs that start on time.
    quick = parse(lambda raw: raw["pipelines"][0].update(alarms={"freshness_window_hours": 37}))
    assert quick.environments["prod"].pipelines[0].freshness_window_hours == 37
