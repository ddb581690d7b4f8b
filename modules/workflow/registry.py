"""The registry-model step: a model for this run only, created from the newest Approved package
of the pipeline's model package group (following ListModelPackages' pages), named like the run;
and the per-run model's deletion, which the finish and the failure handling use.

Needs the pipeline's model config, the targets (execution role, run-name pattern) and botocore's
page-size limit of ListModelPackages (modules/config/botocore_facts.py).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from modules.config import PipelineConfig
from modules.config.botocore_facts import request_member
from modules.iam import Statement, allow
from modules.workflow import state_names as sn
from modules.workflow.asl import catch_to, present_string, run_tags, sdk_task
from modules.workflow.chain import States, Step
from modules.workflow.targets import WorkflowTargets

# ListModelPackages pages: as large as botocore's model allows, and a bound on how many a run
# follows (an empty page with a NextToken is normal with a status filter).
REGISTRY_PAGE_SIZE: int = request_member("sagemaker:ListModelPackages.MaxResults")["max"]
REGISTRY_MAX_PAGES = 20
# The newest Approved package of the current page (pages are sorted newest first).
NEWEST_APPROVED_PACKAGE = "$.model_package.page.ModelPackageSummaryList[0].ModelPackageArn"


def _package_request(group: str) -> dict[str, Any]:
    """ListModelPackages' parameters: the group's Approved packages, newest first, full pages."""
    return {
        "ModelPackageGroupName": group,
        "ModelApprovalStatus": "Approved",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": REGISTRY_PAGE_SIZE,
    }


def _find_package_states(group: str, t: WorkflowTargets) -> States:
    """List the group's Approved packages, following pages until one holds a package."""
    states: States = {}
    request = _package_request(group)
    states[sn.FIND_APPROVED_MODEL] = sdk_task(
        t,
        "sagemaker:listModelPackages",
        request,
        # The whole page (NextToken is absent on the last one) and which page it is.
        result_selector={"page.$": "$", "pages": 1},
        result_path="$.model_package",
        next_state=sn.CHECK_APPROVED_MODEL,
    )
    states[sn.CHECK_APPROVED_MODEL] = {
        "Type": "Choice",
        "Comment": "With a status filter a page can be empty and still have a NextToken: "
        "follow it (at most REGISTRY_MAX_PAGES pages) until a page holds a package.",
        "Choices": [
            {"Variable": NEWEST_APPROVED_PACKAGE, "IsPresent": True, "Next": sn.USE_APPROVED_MODEL},
            {
                "And": [
                    *present_string("$.model_package.page.NextToken"),
                    {"Variable": "$.model_package.pages", "NumericLessThan": REGISTRY_MAX_PAGES},
                ],
                "Next": sn.COUNT_REGISTRY_PAGE,
            },
        ],
        "Default": sn.NO_APPROVED_MODEL,
    }
    states[sn.COUNT_REGISTRY_PAGE] = {
        "Type": "Pass",
        "Parameters": {
            "pages.$": "States.MathAdd($.model_package.pages, 1)",
            "next_token.$": "$.model_package.page.NextToken",
        },
        "ResultPath": "$.model_package",
        "Next": sn.FIND_APPROVED_MODEL_NEXT_PAGE,
    }
    states[sn.FIND_APPROVED_MODEL_NEXT_PAGE] = sdk_task(
        t,
        "sagemaker:listModelPackages",
        {**request, "NextToken.$": "$.model_package.next_token"},
        result_path="$.model_package.page",
        next_state=sn.CHECK_APPROVED_MODEL,
    )
    return states


def _use_package_states(group: str) -> States:
    """Fail the run without an Approved package; otherwise keep the newest one's ARN."""
    return {
        sn.NO_APPROVED_MODEL: {
            "Type": "Pass",
            "Parameters": {
                "Error": "NoApprovedModelPackage",
                "Cause": f"Model package group {group} has no Approved package",
            },
            "ResultPath": "$.error",
            "Next": sn.DESCRIBE_FAILURE,
        },
        sn.USE_APPROVED_MODEL: {
            "Type": "Pass",
            "Parameters": {"arn.$": NEWEST_APPROVED_PACKAGE},
            "ResultPath": "$.model_package",
            "Next": sn.CREATE_RUN_MODEL,
        },
    }


def _create_model_state(pipeline: PipelineConfig, t: WorkflowTargets, nxt: str) -> dict[str, Any]:
    model = pipeline.model
    create: dict[str, Any] = {
        "ModelName.$": "$.run.job_name",
        "ExecutionRoleArn": t.execution_role_arn,
        "PrimaryContainer": {"ModelPackageName.$": "$.model_package.arn"},
        "EnableNetworkIsolation": model.network_isolation,
        "Tags": run_tags(pipeline, t),
    }
    if model.vpc is not None:
        create["VpcConfig"] = {
            "Subnets": list(model.vpc.subnet_ids),
            "SecurityGroupIds": list(model.vpc.security_group_ids),
        }
    return sdk_task(
        t,
        "sagemaker:createModel",
        create,
        comment="A model for this run only, named like its transform job; deleted after.",
        next_state=nxt,
    )


def _registry_states(pipeline: PipelineConfig, t: WorkflowTargets, nxt: str) -> States:
    group = pipeline.model.model_package_group
    assert group is not None  # resolved_per_run
    return {
        **_find_package_states(group, t),
        **_use_package_states(group),
        sn.CREATE_RUN_MODEL: _create_model_state(pipeline, t, nxt),
    }


def registry_model(pipeline: PipelineConfig, t: WorkflowTargets) -> Step:
    """A model for this run, from the newest Approved package of the group."""
    group = pipeline.model.model_package_group
    assert group is not None  # resolved_per_run
    statements = (
        # ListModelPackages has no resource type (see UNSCOPED_ACTIONS).
        allow("FindApprovedPackages", ["sagemaker:ListModelPackages"], "*"),
        allow(
            "ReadPackagesOfThisGroup",
            ["sagemaker:DescribeModelPackage"],
            t.aws.arn("sagemaker", f"model-package/{group.lower()}/*"),
        ),
        run_models_statement(t),
    )
    return Step(
        sn.FIND_APPROVED_MODEL,
        partial(_registry_states, pipeline, t),
        statements,
        tagged=(_run_models(t),),
    )


def _run_models(t: WorkflowTargets) -> str:
    return t.aws.arn("sagemaker", f"model/{t.names.run_pattern}")


def run_models_statement(t: WorkflowTargets) -> Statement:
    """What creating and deleting the per-run models needs."""
    return allow(
        "CreateAndDeletePerRunModels",
        ["sagemaker:CreateModel", "sagemaker:DeleteModel", "sagemaker:DescribeModel"],
        _run_models(t),
    )


def delete_run_model(t: WorkflowTargets, nxt: str) -> dict[str, Any]:
    """Delete the per-run model; its failure (a model never created, or gone) continues at
    ``nxt``."""
    return sdk_task(
        t,
        "sagemaker:deleteModel",
        {"ModelName.$": "$.run.job_name"},
        # A model that was never created (or is gone) must not hide the run's real outcome.
        catch=catch_to(nxt, "$.cleanup_error"),
        next_state=nxt,
    )
