"""Environments: region and account, state (local or S3, both lock kinds), layout, storage, tags
and subscriptions of every protocol and receives.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from modules.config import (
    LOG_RETENTION_DAYS,
    partition_of,
)
from modules.config.aws_facts import KMS_PENDING_WINDOW_DAYS
from tests.support.config_strategy.facts import (
    LOWER_ALNUM,
    REGIONS_BY_PARTITION,
)


@st.composite
def subscriptions(draw: st.DrawFn, region: str, account: str | None) -> list[dict[str, Any]]:
    partition = partition_of(region)
    lambda_account = account or "210987654321"
    endpoints = {
        "email": "oncall@example.com",
        "email-json": "alerts+json@example.org",
        "https": "https://hooks.example.com/alerts?x=1",
        "lambda": f"arn:{partition}:lambda:{region}:{lambda_account}:function:page-oncall",
        "sms": "+15555550123",
    }
    chosen = draw(st.lists(st.sampled_from(sorted(endpoints)), unique=True, max_size=4))
    found = []
    for protocol in chosen:
        subscription = {"protocol": protocol, "endpoint": endpoints[protocol]}
        if protocol == "sms":  # a phone receives notices only (a page is longer than an SMS)
            subscription["receives"] = "notices"
        elif draw(st.booleans()):
            subscription["receives"] = draw(st.sampled_from(["page", "notices", "all"]))
        found.append(subscription)
    return found


@st.composite
def states(draw: st.DrawFn, project: str, env: str, region: str, layout: str) -> dict[str, Any]:
    if draw(st.booleans()):
        state: dict[str, Any] = {"backend": "local"}
        if draw(st.booleans()):
            state["path"] = "state/{stack}.tfstate"
        elif layout == "single" and draw(st.booleans()):
            state["path"] = f"{env}.tfstate"
        return state
    state = {"backend": "s3", "bucket": f"{project}-tfstate-{env}"}
    if draw(st.booleans()):
        state["region"] = draw(st.sampled_from(REGIONS_BY_PARTITION[partition_of(region)]))
    if draw(st.booleans()):
        state["key_prefix"] = draw(st.sampled_from(["ml/batch", "a", "x.y_z-1"]))
    if draw(st.booleans()):
        state["lock"] = "dynamodb"
        state["dynamodb_table"] = f"{project}-locks"
    elif draw(st.booleans()):
        state["lock"] = "lockfile"
    return state


@st.composite
def environments(
    draw: st.DrawFn, project: str, name: str, region: str, account: str | None
) -> dict[str, Any]:
    """One environment's own settings (its pipelines' overrides are added by ``valid_configs``)."""
    layout = draw(st.sampled_from(["per-pipeline", "single"]))
    env: dict[str, Any] = {"region": region, "state": draw(states(project, name, region, layout))}
    if layout == "single" or draw(st.booleans()):
        env["layout"] = layout
    if account is not None:
        env["account_id"] = account
    if draw(st.booleans()):
        env["allow_destroy"] = draw(st.booleans())
    if draw(st.booleans()):
        env["log_retention_days"] = draw(st.sampled_from(LOG_RETENTION_DAYS))
    if draw(st.booleans()):
        env["kms_deletion_window_days"] = draw(st.integers(*KMS_PENDING_WINDOW_DAYS))
    if draw(st.booleans()):
        env["tags"] = {
            "team": draw(st.text(LOWER_ALNUM, min_size=1, max_size=10)),
            "cost-center": "ml/42",
        }
    if draw(st.booleans()):
        env["storage"] = {
            key: draw(st.integers(1, 3650))
            for key in draw(
                st.sets(
                    st.sampled_from(
                        [
                            "output_expiration_days",
                            "noncurrent_version_expiration_days",
                            "abort_incomplete_multipart_days",
                            "access_log_expiration_days",
                        ]
                    )
                )
            )
        }
    found = draw(subscriptions(region, account))
    if found:
        env["alerting"] = {"subscriptions": found}
    return env
