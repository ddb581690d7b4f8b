"""When a pipeline runs: the EventBridge Scheduler expression, its dates, flexible window, retry
policy and the payload each scheduled run gets.

A ``start_date`` that has passed is kept as written but no longer constrains anything: the
schedule is synthesized without it (``pending_start_date``), because EventBridge Scheduler refuses a
start date more than 5 minutes in the past on create and on every update, which would otherwise
block every later deploy of an unchanged config. An ``end_date`` that has passed is refused: the
schedule would never fire again.

Needs EventBridge Scheduler's bounds (read from botocore through
``modules.config.botocore_facts``) and the field types of ``modules.config.fields``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from modules.config import folders
from modules.config.botocore_facts import request_member
from modules.config.fields import (
    InputPrefix,
    ScheduleExpression,
    StrictModel,
    TfStr,
    TimeZone,
    no_terraform_template,
)

# EventBridge Scheduler's bounds, from botocore's scheduler model (a small model: loaded when
# the config schema is built, so that the bounds show in the schema and the config reference).
RETRY_ATTEMPTS = request_member("scheduler:CreateSchedule.Target.RetryPolicy.MaximumRetryAttempts")
EVENT_AGE = request_member("scheduler:CreateSchedule.Target.RetryPolicy.MaximumEventAgeInSeconds")
FLEXIBLE_WINDOW = request_member(
    "scheduler:CreateSchedule.FlexibleTimeWindow.MaximumWindowInMinutes"
)


class RetryPolicy(StrictModel):
    """How hard EventBridge Scheduler tries to start a run (not to re-run a failed one)."""

    max_attempts: int = Field(
        default=3,
        ge=RETRY_ATTEMPTS["min"],
        le=RETRY_ATTEMPTS["max"],
        description="Retries to start a run.",
    )
    max_event_age_seconds: int = Field(
        default=3600,
        ge=EVENT_AGE["min"],
        le=EVENT_AGE["max"],
        description="Give up starting a run after this long.",
    )


# Run-input keys the workflow reads that Scheduler or the event trigger set: a payload that set
# them would change what every scheduled run reads.
RESERVED_PAYLOAD_KEYS = ("trigger", "scheduled_time", "marker_key")


class _PayloadPrefix(BaseModel):
    """The payload's input_prefix, checked by the same type as the pipeline's input_prefix."""

    model_config = ConfigDict(extra="allow")

    input_prefix: InputPrefix | None = None


class ScheduleConfig(StrictModel):
    """When a pipeline runs."""

    expression: ScheduleExpression = Field(
        description="EventBridge Scheduler expression: cron(...), rate(...) or at(...)."
    )
    timezone: TimeZone = Field(
        default="UTC", description="IANA time zone the expression is read in."
    )
    flexible_window_minutes: int = Field(
        default=0,
        ge=0,  # 0 is the mode OFF; Scheduler's own minimum applies to mode FLEXIBLE
        le=FLEXIBLE_WINDOW["max"],
        description="Let Scheduler start up to this late (0 = exact).",
    )
    start_date: datetime | None = Field(default=None, description="No runs before this time.")
    end_date: datetime | None = Field(default=None, description="No runs after this time.")
    enabled: bool = Field(default=True, description="Whether the schedule fires.")
    retry: RetryPolicy = Field(
        default_factory=RetryPolicy, description="Retries to start a run: see Retry policy."
    )
    payload: dict[TfStr, Any] = Field(
        default_factory=dict,
        description="Extra keys for the run input, e.g. input_prefix to read another prefix "
        f"under the pipeline's input prefix (not {', '.join(RESERVED_PAYLOAD_KEYS)}: Scheduler "
        "and the event trigger set them).",
    )
    input_folder: TfStr | None = Field(
        default=None,
        description="Scheduled runs read <input prefix><folder>/, the folder named from the "
        "scheduled time (UTC) with this JSONata date picture: folders separated by /, literal "
        "letters, digits and _ . = -, and the date parts [Y0001], [M01], [D01], [H01] (or [Y], "
        f"[M], [D], [H] unpadded), e.g. {folders.EXAMPLE}. Without it they read the whole input "
        "prefix.",
    )

    @field_validator("input_folder")
    @classmethod
    def _dated_folder(cls, value: str | None) -> str | None:
        return None if value is None else folders.check(value)

    @field_validator("payload")
    @classmethod
    def _safe_payload(cls, value: dict[str, Any]) -> dict[str, Any]:
        no_terraform_template(json.dumps(value))
        reserved = [key for key in RESERVED_PAYLOAD_KEYS if key in value]
        if reserved:
            raise ValueError(
                f"{', '.join(reserved)} may not be set: Scheduler and the event trigger set it"
            )
        _PayloadPrefix.model_validate(value)  # errors name payload.input_prefix
        return value

    # Whether start_date had passed when the config was validated (one clock for the whole synth).
    _start_date_passed: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _dates_in_order(self) -> ScheduleConfig:
        start, end = _utc(self.start_date), _utc(self.end_date)
        now = datetime.now(UTC)
        if start and end and start >= end:
            raise ValueError("start_date must be before end_date")
        if end and end <= now:
            raise ValueError(
                f"end_date {utc_text(end)} has passed: the schedule would never fire "
                "again; set enabled: false (and remove end_date) to keep the pipeline without "
                "scheduled runs, or remove the pipeline"
            )
        self._start_date_passed = start is not None and start <= now
        return self

    @property
    def start_date_passed(self) -> bool:
        """The written start_date has passed: it is left out of the schedule."""
        return self._start_date_passed

    @property
    def pending_start_date(self) -> datetime | None:
        """The start date the schedule is synthesized with: None when none was written or it
        has passed (it no longer constrains the runs, and Scheduler would refuse it)."""
        return None if self._start_date_passed else self.start_date


def _utc(value: datetime | None) -> datetime | None:
    """A date-time without an offset is read as UTC (as the scheduler layer writes it)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def utc_text(value: datetime) -> str:
    """A date-time as ISO 8601 in UTC, as messages show it (2026-01-01T00:00:00Z)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return f"{aware.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
