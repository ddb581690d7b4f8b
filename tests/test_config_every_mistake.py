"""Every check across fields, pipelines and environments reports every mistake it finds in one
run, each on its own line naming its own field (a check used to stop at its first mistake: three
pipelines with images in the wrong region took three runs to find).

Each config is the example fixture with the mistakes added (tests/fixtures/example.yaml)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from modules.config import ConfigError, ProjectConfig, load_config
from tests.conftest import EXAMPLE_CONFIG
from tests.test_config_app import run_app

EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text())
EU_IMAGE = EXAMPLE["pipelines"][0]["model"]["image"]
US_IMAGE = EU_IMAGE.replace("eu-west-1", "us-east-1")
REPOSITORY = "arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-xgboost"


def _pipeline(name: str, **settings: Any) -> dict[str, Any]:
    """A pipeline like the example's churn (image + artifact), named ``name``."""
    pipeline = copy.deepcopy(EXAMPLE["pipelines"][0])
    pipeline.update(name=name, **settings)
    pipeline["model"]["artifact_key"] = f"{name}/model.tar.gz"
    return pipeline


def _written(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    raw = copy.deepcopy(EXAMPLE)
    edit(raw)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))  # a deep copy: no YAML aliases
    return path


def _mistakes(path: Path) -> list[tuple[int, str, str]]:
    """(line, field as written, message) of each line of the refusal."""
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    found = []
    for line in raised.value.lines:
        match = re.fullmatch(rf"{re.escape(str(path))}:(\d+): (.+?): (.*)", line)
        assert match is not None, line
        found.append((int(match[1]), match[2], match[3]))
    return found


def _line_of(path: Path, text: str, after: int = 0) -> int:
    lines = path.read_text().splitlines()
    return next(i for i in range(after, len(lines)) if text in lines[i]) + 1


def _three_images_elsewhere(raw: dict[str, Any]) -> None:
    raw["pipelines"][0]["model"]["image"] = US_IMAGE
    raw["pipelines"] += [
        _pipeline("upsell", model={"image": US_IMAGE}),
        _pipeline("fraud", model={"image": US_IMAGE}),
    ]


def test_three_images_in_another_region_are_three_lines_at_their_own_lines(
    tmp_path: Path,
) -> None:
    path = _written(tmp_path, _three_images_elsewhere)
    mistakes = _mistakes(path)
    image_lines = []
    for _ in range(3):
        after = image_lines[-1] if image_lines else 0
        image_lines.append(_line_of(path, f"image: {US_IMAGE}", after))
    assert mistakes == [
        (
            line,
            f"pipelines[{name}].model.image",
            "is in us-east-1, but the environment's region is eu-west-1; SageMaker needs the "
            "model's image, package and repositories in the model's region",
        )
        for line, name in zip(image_lines, ["churn", "upsell", "fraud"], strict=True)
    ]


def test_the_app_reports_the_three_images_in_one_run(tmp_path: Path) -> None:
    path = _written(tmp_path, _three_images_elsewhere)
    result = run_app(tmp_path, path, PYTHONOPTIMIZE="1")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert [line.split(": ")[2] for line in lines] == [
        "pipelines[churn].model.image",
        "pipelines[upsell].model.image",
        "pipelines[fraud].model.image",
    ]
    assert all(line.startswith(f"config error: {path}:") for line in lines)
    assert not (tmp_path / "cdktf.out").exists()


def _prefixes_overlap(raw: dict[str, Any]) -> None:
    raw["pipelines"][0]["output_prefix"] = "out/"
    raw["pipelines"] += [
        _pipeline("upsell", output_prefix="out/"),
        _pipeline("fraud", output_prefix="out/fraud/", input_prefix="churn/fraud/"),
    ]


def _names_clash(raw: dict[str, Any]) -> None:
    raw["pipelines"] += [
        _pipeline("churn-eu", input_prefix="eu/", output_prefix="eu/"),
        _pipeline("dashboard"),
        _pipeline("ltv", input_prefix="ltv2/", output_prefix="ltv2/"),
    ]


def _environment_mistakes(raw: dict[str, Any]) -> None:
    dev = raw["environments"]["dev"]
    dev["state"]["path"] = "dev.tfstate"  # one file for every stack
    dev["account_id"] = "123456789012"
    dev["alerting"] = {
        "subscriptions": [
            {"protocol": "lambda", "endpoint": f"arn:aws:lambda:eu-west-1:{account}:function:f"}
            for account in ("111111111111", "222222222222")
        ]
    }


def _state_buckets_disagree(raw: dict[str, Any]) -> None:
    bucket = raw["environments"]["prod"]["state"]["bucket"]
    for name, account in (("stage", "210987654321"), ("qa", None)):
        raw["environments"][name] = {
            "state": {"backend": "s3", "bucket": bucket, "region": "us-east-1"},
            **({"account_id": account} if account else {}),
        }


def _transform_and_model(raw: dict[str, Any]) -> None:
    ltv = raw["pipelines"][1]
    ltv["transform"]["max_payload_mb"] = 101
    ltv["transform"]["split_type"] = "RecordIO"  # and data_processing filters: refused
    ltv["model"]["image"] = EU_IMAGE  # and a model_package_group, and ecr_repository_arns


def _freshness_and_payload(raw: dict[str, Any]) -> None:
    churn = raw["pipelines"][0]
    del churn["schedule"]["input_folder"]  # (with a dated folder, a payload prefix is refused)
    churn["schedule"]["payload"] = {"input_prefix": "elsewhere/"}
    churn["alarms"] = {"freshness_window_hours": 25}  # a daily schedule needs 30


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            _prefixes_overlap,
            [
                ("pipelines[upsell].output_prefix", "'churn' and 'upsell' overlap: output_prefix "),
                ("pipelines[fraud].input_prefix", "'churn' and 'fraud' overlap: input_prefix "),
                ("pipelines[fraud].output_prefix", "'churn' and 'fraud' overlap: output_prefix "),
            ],
        ),
        (
            _names_clash,
            [
                ("pipelines[churn-eu].name", "pipeline names 'churn' and 'churn-eu' overlap"),
                ("pipelines[dashboard].name", "pipeline name 'dashboard' is reserved"),
                ("pipelines[ltv].name", "another pipeline is named 'ltv'"),
            ],
        ),
        (
            _environment_mistakes,
            [
                ("environments.dev.state.path", "'dev.tfstate' would be one file for every stack"),
                ("environments.dev.alerting.subscriptions[0].endpoint", "in account 111111111111"),
                ("environments.dev.alerting.subscriptions[1].endpoint", "in account 222222222222"),
            ],
        ),
        (
            _state_buckets_disagree,
            [
                ("environments.stage.state.region", "is in eu-west-1 for environment 'prod'"),
                ("environments.stage.state.bucket", "(account 210987654321); a state bucket"),
                ("environments.qa.state.region", "is in eu-west-1 for environment 'prod'"),
                ("environments.qa.state.bucket", "and here (account not pinned)"),
            ],
        ),
        (
            _transform_and_model,
            [
                ("pipelines[ltv].model", "give one of image + artifact_key, model_package_arn"),
                ("pipelines[ltv].model.ecr_repository_arns", "is for registry packages"),
                ("pipelines[ltv].transform.max_payload_mb", "may be at most 100"),
                ("pipelines[ltv].transform.data_processing", "works only on CSV and JSON"),
            ],
        ),
        (
            _freshness_and_payload,
            [
                ("pipelines[churn].schedule.payload.input_prefix", "is not under the pipeline's"),
                ("pipelines[churn].alarms.freshness_window_hours", "25 is too short"),
            ],
        ),
    ],
    ids=["prefixes", "pipeline-names", "environment", "state-buckets", "transform+model", "runs"],
)
def test_a_check_reports_every_mistake_it_finds_in_one_run(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], expected: list[tuple[str, str]]
) -> None:
    mistakes = _mistakes(_written(tmp_path, edit))
    # Exactly these fields, one line each (in the file's order), each saying its own mistake.
    assert sorted(where for _, where, _ in mistakes) == sorted(where for where, _ in expected)
    for where, fragment in expected:
        (message,) = [m for _, w, m in mistakes if w == where]
        assert fragment in message, (where, message)


def test_a_long_pipeline_name_is_one_line_for_all_environments(tmp_path: Path) -> None:
    # The same fix in every environment: one line, the environments that refuse it named.
    def edit(raw: dict[str, Any]) -> None:
        raw["pipelines"].append(_pipeline("p" * 18))  # 63 characters in dev, 64 in prod
        raw["environments"]["qa"] = {"state": {"backend": "local", "path": "{stack}.tfstate"}}

    ((_, where, message),) = _mistakes(_written(tmp_path, edit))
    assert where == f"pipelines[{'p' * 18}].name (in environment 'prod')"
    assert "is 64 characters; botocore's sagemaker model (CreateTransformJob" in message


def _payload_over_and_concurrent(raw: dict[str, Any]) -> None:
    raw["pipelines"][1]["transform"].update(max_payload_mb=101, max_concurrent_transforms=1)


def _dated_window_too_short(raw: dict[str, Any]) -> None:
    raw["pipelines"][0]["schedule"]["end_date"] = "2099-01-01T00:00:00Z"
    raw["pipelines"][0]["alarms"] = {"freshness_window_hours": 25}


@pytest.mark.parametrize(
    ("edit", "where", "fragment"),
    [
        # 101 MB x 1 is also over 100 MB in flight: the payload is what to fix.
        (
            _payload_over_and_concurrent,
            "pipelines[ltv].transform.max_payload_mb",
            "max_payload_mb may be at most 100",
        ),
        # A dated schedule has no freshness alarm: its window's margin is beside the point.
        (
            _dated_window_too_short,
            "pipelines[churn].alarms.freshness_window_hours",
            "a schedule with end_date has no freshness alarm",
        ),
    ],
    ids=["payload", "dated-window"],
)
def test_one_fix_is_one_line(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], where: str, fragment: str
) -> None:
    ((_, written, message),) = _mistakes(_written(tmp_path, edit))
    assert written == where
    assert fragment in message


def test_a_mistake_of_a_pipeline_named_like_pydantics_tags_is_located(tmp_path: Path) -> None:
    # pydantic's own location parts look like "function-after[...]": a pipeline named
    # "function-score" is not one of them.
    def edit(raw: dict[str, Any]) -> None:
        raw["pipelines"].append(_pipeline("function-score", model={"image": US_IMAGE}))

    path = _written(tmp_path, edit)
    ((line, where, _),) = _mistakes(path)
    assert where == "pipelines[function-score].model.image"
    assert line == _line_of(path, f"image: {US_IMAGE}")


def test_an_override_cannot_rename_a_pipeline(tmp_path: Path) -> None:
    """A pipeline renamed in one environment would be another pipeline there (its stacks, alarms
    and state are named after it): refused where the rename is written, with the pipeline's other
    mistakes still located."""

    def edit(raw: dict[str, Any]) -> None:
        raw["pipelines"][0]["model"]["image"] = US_IMAGE
        raw["environments"]["dev"]["pipelines"]["churn"]["name"] = "other"

    path = _written(tmp_path, edit)
    found = _mistakes(path)
    assert (
        _line_of(path, "name: other"),
        "environments.dev.pipelines.churn.name",
    ) in [(line, where) for line, where, _ in found]
    assert any(where.startswith("pipelines[churn].model.image") for _, where, _ in found)


def test_a_state_region_is_a_region_of_the_environments_partition(
    make_config: Callable[..., ProjectConfig],
) -> None:
    """Found while generating configs: ``state.region`` was any string, so a misspelt region or a
    GovCloud environment's bucket in a commercial region synthesized a backend no account can use.
    """

    def region(value: str) -> Callable[[dict[str, Any]], None]:
        def edit(raw: dict[str, Any]) -> None:
            raw["environments"]["prod"]["state"]["region"] = value

        return edit

    with pytest.raises(ConfigError) as refused:
        make_config(region("us-gov-west-1"))
    [line] = refused.value.lines
    assert "environments.prod.state.region: us-gov-west-1 is in the aws-us-gov partition" in line
    with pytest.raises(ConfigError) as refused:
        make_config(region("eu-wset-1"))
    [line] = refused.value.lines
    assert "environments.prod.state.region: 'eu-wset-1' is not a region" in line
    assert make_config(region("us-west-2")).environments["prod"].state.region == "us-west-2"
