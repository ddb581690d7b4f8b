"""One pipeline: its model, schedule and transform (``model``, ``schedule``, ``transform``), its
alarm thresholds, the optional S3 event trigger, and the run options.

The checks across those parts live here: the run input stays under the pipeline's input prefix,
and the freshness window fits the schedule (arithmetic in ``modules.schedule_window``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import Field, model_validator

from modules.config import folders
from modules.config.delivery import DeliveryConfig
from modules.config.fields import (
    IN_BUCKET,
    INPUT_S3_URI,
    LONGEST_RUN_ID,
    MARKER,
    PIPELINE_NAME,
    S3_KEY_PREFIX,
    TAG_VALUE,
    TRANSFORM,
    Found,
    InputPrefix,
    SageMakerField,
    StrictModel,
    TfStr,
    raise_each,
    sagemaker,
)
from modules.config.model import ModelConfig
from modules.config.schedule import ScheduleConfig
from modules.config.table import format_mistakes
from modules.config.transform import DEFAULT_TIMEOUT_MINUTES, TransformConfig, run_timeout_seconds
from modules.schedule_window import (
    MAX_FRESHNESS_HOURS,
    default_window_hours,
    interval_hours,
    shortest_window_hours,
)

_DEFAULT_RUN_SECONDS = run_timeout_seconds(DEFAULT_TIMEOUT_MINUTES)


class AlarmSettings(StrictModel):
    """Thresholds of a pipeline's alarms."""

    period_seconds: Literal[60, 300, 900, 3600] = Field(
        default=300, description="Period of the execution and DLQ alarms."
    )
    dlq_messages_threshold: int = Field(
        default=1, ge=1, description="Undelivered runs in the DLQ that raise the alarm."
    )
    freshness: bool = Field(
        default=True,
        description="Alarm when no transform completed within the freshness window (catches a "
        "schedule that silently stopped and upstream that stopped delivering: runs that found "
        "no input or were skipped do not count). No alarm while the schedule is disabled, for "
        "a schedule with a start_date still ahead or an end_date, "
        "nor without a window: none is derived for one-time `at()` schedules, crons tied to "
        "days of the month or to months, or with L / W / #, and schedules whose interval "
        "leaves no margin within CloudWatch's 7-day evaluation limit (weekly).",
    )
    freshness_window_hours: int | None = Field(
        default=None,
        ge=1,
        le=MAX_FRESHNESS_HOURS,
        description="Hours without a completed transform before the alarm fires. Default: derived "
        "from the schedule, its longest gap between runs (a cron's hours, minutes and weekdays "
        "expanded), plus how late a run may start (schedule.flexible_window_minutes) and how "
        "long it may take (transform.timeout_minutes and the run's grace), plus a margin of a "
        "quarter of the gap (at least 2 h), e.g. "
        f"{default_window_hours('rate(1 hour)', 0, _DEFAULT_RUN_SECONDS)} for hourly and "
        f"{default_window_hours('rate(1 day)', 0, _DEFAULT_RUN_SECONDS)} for daily schedules "
        f"with the default timeout; none where that exceeds {MAX_FRESHNESS_HOURS} (weekly) or "
        "the interval cannot be told. An explicit window must be at least as long.",
    )


class EventTrigger(StrictModel):
    """Start a run when a marker object lands under the pipeline's input prefix."""

    marker: TfStr = Field(
        default="_SUCCESS",
        pattern=MARKER.pattern,
        description="Object name that marks a complete input folder, e.g. _SUCCESS.",
    )


class PipelineConfig(StrictModel):
    """One model scored on one schedule."""

    # No length limit of its own: every name built from it is checked against its AWS limit
    # (ProjectConfig._names_fit), which leaves 63 - 33 - len("<project>-<env>-") characters.
    name: Annotated[TfStr, *TAG_VALUE] = Field(
        pattern=PIPELINE_NAME.pattern, description="Pipeline name."
    )
    description: TfStr = Field(default="", max_length=256, description="Free text, on resources.")
    enabled: bool = Field(
        default=True,
        description="false keeps the pipeline out of the environment entirely (no stack, no "
        "dashboard widgets, no alarms); set it per environment (environments.<env>.pipelines."
        "<name>.enabled) to roll a pipeline out, or retire it, one environment at a time.",
    )
    model: ModelConfig = Field(description="What runs: see Model.")
    schedule: ScheduleConfig = Field(description="When it runs: see Schedule.")
    transform: TransformConfig = Field(
        default_factory=TransformConfig, description="How it runs: see Transform."
    )
    input_prefix: InputPrefix | None = Field(
        default=None,
        description="Default input prefix in the input bucket (default '<name>/').",
    )
    output_prefix: Annotated[
        TfStr | None,
        sagemaker(
            f"{TRANSFORM}.TransformOutput.S3OutputPath",
            "output location",
            f"{IN_BUCKET}{LONGEST_RUN_ID}/",
        ),
    ] = Field(
        default=None,
        pattern=S3_KEY_PREFIX.pattern,
        description="Output prefix in the output bucket (default '<name>/'); "
        "each run writes under '<prefix><run id>/'.",
    )
    alarms: AlarmSettings = Field(default_factory=AlarmSettings, description="See Alarms.")
    overlap: Literal["skip", "allow"] = Field(
        default="skip",
        description="A run that starts while another is running: skip it (finish as "
        "'skipped' and notify) or allow both.",
    )
    trigger: EventTrigger | None = Field(
        default=None, description="Also start runs from S3 marker objects (off by default)."
    )
    skip_empty_input: bool = Field(
        default=True,
        description="End a run cleanly as 'no input' when its input prefix holds no objects.",
    )
    notify_on_empty_input: bool = Field(default=False, description="Notify on 'no input' runs.")
    write_manifest: bool = Field(
        default=True,
        description="Write <output prefix><run id>/_manifest.json after a successful run.",
    )
    notify_on_success: bool = Field(default=False, description="Notify on successful runs.")
    delivery: DeliveryConfig | None = Field(
        default=None,
        description="Account for every input after the transform (off by default): see Delivery.",
    )

    @model_validator(mode="after")
    def _cross_checks(self) -> PipelineConfig:
        raise_each(
            [
                *self._run_input_mistakes(),
                *self._freshness_mistakes(),
                *self._table_mistakes(),
                *self._shards_mistakes(),
            ]
        )
        return self

    def _shards_mistakes(self) -> Iterator[Found]:
        shards = self.transform.shards
        if shards is not None and shards.tolerated_failed_shards_percent and self.delivery:
            # The delivery count refuses a run with any input missing its output
            # (IncompleteOutput): a failed shard it tolerated would fail the run all the same.
            yield (
                ("transform", "shards", "tolerated_failed_shards_percent"),
                "must be 0 with delivery: delivery promises every input's output, so a run "
                "with a failed shard fails its count (IncompleteOutput) whatever the tolerance",
            )

    def _table_mistakes(self) -> Iterator[Found]:
        table = self.delivery.table if self.delivery is not None else None
        if table is not None:
            for where, message in format_mistakes(table, self.transform.accept):
                yield ("delivery", "table", *where), message

    def _run_input_mistakes(self) -> Iterator[Found]:
        # What CheckRunInput would refuse at every scheduled run (RejectRunInput), refused here.
        requested = self.schedule.payload.get("input_prefix")
        if requested is not None and not requested.startswith(self.default_input_prefix):
            yield (
                ("schedule", "payload", "input_prefix"),
                f"{requested!r} is not under the pipeline's input prefix "
                f"{self.default_input_prefix!r}",
            )
        if self.schedule.input_folder is not None and requested is not None:
            # CheckScheduledRun derives the folder only for a run input without a prefix: the
            # payload's prefix would win at every run and the folder would never be read.
            yield (
                ("schedule", "input_folder"),
                "would never be read: schedule.payload.input_prefix also says what a scheduled "
                "run reads, and wins at every run; keep one of the two",
            )
        elif self.schedule.input_folder is not None:
            # Scheduled runs read <prefix><folder>/: its longest rendering must fit in S3Uri.
            try:
                SageMakerField(INPUT_S3_URI, "input location (with input_folder)", IN_BUCKET)(
                    f"{self.default_input_prefix}{folders.longest(self.schedule.input_folder)}/"
                )
            except ValueError as error:
                yield (), str(error)

    def _freshness_mistakes(self) -> Iterator[Found]:
        window = self.alarms.freshness_window_hours
        where = ("alarms", "freshness_window_hours")
        # A freshness alarm treats missing data as breaching: it would fire until start_date and
        # for ever after end_date. Such schedules get none; an explicit window would be ignored
        # (so its margin is not checked either).
        dated = [
            field
            for field, date in (
                ("start_date", self.schedule.pending_start_date),
                ("end_date", self.schedule.end_date),
            )
            if date is not None
        ]
        if dated and window is not None:
            yield (
                where,
                f"a schedule with {' and '.join(dated)} has no freshness alarm (it would fire "
                "before the start and after the end); remove the window (a start_date stops "
                "counting once it has passed)",
            )
            return
        interval = interval_hours(self.schedule.expression)
        if window is None or interval is None or not self.alarms.freshness:
            return
        needed = self._shortest_freshness_window(interval)
        if window >= needed:
            return
        if needed > MAX_FRESHNESS_HOURS:
            yield (
                where,
                f"{window} leaves no margin over the schedule's {interval} h interval and its "
                f"runs' start window and timeout, and CloudWatch evaluates at most "
                f"{MAX_FRESHNESS_HOURS} h: set alarms.freshness: false for this schedule",
            )
        else:
            types = len(self.transform.instance_types)
            on_each = f" on each of its {types} instance types" if types > 1 else ""
            yield (
                where,
                f"{window} is too short: at least {needed} for this schedule (interval "
                f"{interval} h + {needed - interval} h for a late start within the flexible "
                f"window, a run as long as its timeout{on_each}, and a daylight-saving shift)",
            )

    def _shortest_freshness_window(self, interval: int) -> int:
        return shortest_window_hours(
            interval,
            self.schedule.flexible_window_minutes,
            self.transform.run_timeout_seconds,
        )

    @property
    def freshness_window_hours(self) -> int | None:
        """Hours without a completed transform before the freshness alarm fires, or None for
        none (also for a schedule with a start or end date: it would fire outside them)."""
        schedule = self.schedule
        if not self.alarms.freshness or not schedule.enabled:
            return None
        if schedule.pending_start_date is not None or schedule.end_date is not None:
            return None
        if self.alarms.freshness_window_hours is not None:
            return self.alarms.freshness_window_hours
        return default_window_hours(
            schedule.expression,
            schedule.flexible_window_minutes,
            self.transform.run_timeout_seconds,
        )

    @property
    def default_input_prefix(self) -> str:
        return self.input_prefix or f"{self.name}/"

    @property
    def run_output_prefix(self) -> str:
        return self.output_prefix or f"{self.name}/"
