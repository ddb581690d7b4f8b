"""How the operations tool's answers look: rich tables and key-value grids, made to read well in
an 80-column terminal (long names fold inside their cell rather than widen the table)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import datetime, timedelta

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tools.ops.backfill import LEFT_ALONE, NOT_STARTED, Outcome, PlannedRun, Report
from tools.ops.runs import RunRow


def when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def day(moment: datetime) -> str:
    """A run's date: the day, and the hour where it is not midnight (hourly folders)."""
    return moment.strftime(
        "%Y-%m-%d" if (moment.hour, moment.minute) == (0, 0) else "%Y-%m-%d %H:%M"
    )


def duration(start: datetime | None, stop: datetime | None, now: datetime) -> str:
    if start is None:
        return "-"
    seconds = int(((stop or now) - start) / timedelta(seconds=1))
    hours, rest = divmod(max(seconds, 0), 3600)
    text = f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"
    return text if stop is not None else f"{text}+"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


_STYLES = {"SUCCEEDED": "green", "FAILED": "red", "TIMED_OUT": "red", "ABORTED": "yellow"}


def _status(text: str) -> str:
    style = _STYLES.get(text.split(" ")[0])
    return f"[{style}]{text}[/]" if style else text


# `runs`: one line per run, then its name, transform job and error indented below it: an
# 80-column terminal has no room for seven columns of names that long.
_INDENT = " " * 13  # under the status, past "MM-DD HH:MM"


def runs_table(title: str, rows: Sequence[RunRow], now: datetime, width: int = 80) -> Text:
    lines = [Text(title, style="bold"), Text("")]
    columns = [
        ("started", 11),
        ("status", max(len("status"), *(len(row.outcome) for row in rows))),
        ("took", 7),
        ("trigger", max(len("trigger"), *(len(row.trigger) for row in rows))),
    ]
    header = "  ".join(name.ljust(size) for name, size in columns) + "  input prefix"
    lines += [Text(header, style="bold"), Text("─" * min(width, 79))]
    for row in rows:
        cells = [
            row.started.strftime("%m-%d %H:%M"),
            row.outcome,
            duration(row.started, row.stopped, now),
            row.trigger,
        ]
        line = Text()
        for (_, size), cell in zip(columns, cells, strict=True):
            style = _STYLES.get(cell.split(" ")[0], "") if cell is cells[1] else ""
            line.append(cell.ljust(size), style=style)
            line.append("  ")
        line.append(row.input_prefix)
        lines.append(line)
        details = [f"run {row.name}"]
        if row.transform_job:
            details.append(f"job {row.transform_job}")
        if row.model:
            model = f"model {row.model}"
            details += textwrap.wrap(model, width - len(_INDENT) - 1, break_on_hyphens=False)
        if row.error:
            details += textwrap.wrap(row.error, width - len(_INDENT) - 1)
        lines += [
            Text(_INDENT + detail, style="dim" if not row.error else "") for detail in details
        ]
    return Text("\n").join(lines)


def details(title: str, items: Sequence[tuple[str, str]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.title, grid.title_justify = title, "left"
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for key, value in items:
        grid.add_row(key, value)
    return grid


def plan_table(label: str, planned: Sequence[PlannedRun]) -> Table:
    table = _table(f"{label}: backfill plan (dry run)", "date (UTC)", "input prefix", "run")
    for run in planned:
        action = run.name if run.start else f"[dim]left alone: {run.reason}[/]"
        table.add_row(day(run.scheduled_time), run.input_prefix, action)
    return table


def summary_table(label: str, report: Report, now: datetime) -> Table:
    table = _table(f"{label}: backfill summary", "date (UTC)", "status", "took", "execution")
    for outcome in report.outcomes:
        status = outcome.status + (f" ({outcome.result})" if outcome.result else "")
        if outcome.status == LEFT_ALONE:
            status = f"{LEFT_ALONE}: {outcome.run.reason.split(':')[0]}"
        name = (
            outcome.run.name
            if outcome.status not in (NOT_STARTED, LEFT_ALONE)
            else (outcome.run.previous.name if outcome.run.previous else "-")
        )
        table.add_row(
            day(outcome.run.scheduled_time),
            _status(status),
            duration(outcome.started_at, outcome.finished_at, now),
            name,
        )
    counts = {
        s: report.count(s) for s in ("SUCCEEDED", "FAILED", "RUNNING", LEFT_ALONE, NOT_STARTED)
    }
    table.caption = ", ".join(f"{n} {s.lower()}" for s, n in counts.items() if n)
    return table


def still_running(console: Console, outcomes: Sequence[Outcome]) -> None:
    console.print(
        f"[yellow]Interrupted: no new runs started. {len(outcomes)} still running in AWS "
        "(they finish on their own; run the same backfill again later to resume):[/]"
    )
    for outcome in outcomes:
        console.print(f"  {outcome.run.name}")
