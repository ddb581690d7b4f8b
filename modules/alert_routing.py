"""Alert routing: what each subscription of the alert topic receives, by severity.

Every message the project publishes to the alert topic is a JSON body that says how urgent it is,
so SNS subscription filter policies (scope ``MessageBody``) can route it without a Lambda:

- the state machine's notifications and the transform-job event rule's message carry
  ``"severity": "page"`` (a run failed, a transform job failed or was stopped) or
  ``"severity": "notice"`` (a run succeeded, was skipped, or found no input);
- CloudWatch alarm notifications are AWS's own JSON: ``NewStateValue`` is ``ALARM`` (page) or
  ``OK``. The alarms have no INSUFFICIENT_DATA actions, so no other state is sent. An OK is a
  notice only when ``OldStateValue`` is ``ALARM`` (a recovery): every new or replaced alarm goes
  INSUFFICIENT_DATA -> OK, and a deploy is not a recovery.

A subscription's ``receives`` picks its policy: ``page``, ``notices``, or ``all`` (no filter
policy: every message, as before routing existed). The policies are proved against LocalStack's
SNS filter evaluator on each kind of message as it is really produced (tests/test_alert_routing.py).

The messages the project writes itself (the workflow's notices and failure pages, the
transform-job event rule's pages) name their pipeline alike: ``pipeline`` is the pipeline's full
name ``<project>-<env>-<pipeline>`` (its state machine's, ``PipelineNames.base``) and
``environment`` the environment's name. ``message_head`` builds the start of the notices and the
rule's pages, ``{"severity", "event", "pipeline", "environment", "message"``.

Needs nothing; imported by the workflow (its messages) and the alerting layer (its subscriptions
and the event rule's message).
"""

from __future__ import annotations

import json
from typing import Any

SEVERITY_KEY = "severity"
PAGE = "page"
NOTICE = "notice"

# CloudWatch's alarm notification: the state the alarm moved to, and the one it left.
ALARM_STATE_KEY = "NewStateValue"
OLD_ALARM_STATE_KEY = "OldStateValue"

FILTER_POLICY_SCOPE = "MessageBody"
FILTER_POLICIES: dict[str, dict[str, Any]] = {
    "page": {"$or": [{SEVERITY_KEY: [PAGE]}, {ALARM_STATE_KEY: ["ALARM"]}]},
    "notices": {
        "$or": [
            {SEVERITY_KEY: [NOTICE]},
            {ALARM_STATE_KEY: ["OK"], OLD_ALARM_STATE_KEY: ["ALARM"]},
        ]
    },
}


def message_identity(pipeline: str, environment: str) -> dict[str, str]:
    """What every message the project writes says of where it comes from: ``pipeline`` is the
    pipeline's full name (``PipelineNames.base``), ``environment`` the environment's name."""
    return {"pipeline": pipeline, "environment": environment}


def message_head(severity: str, event: str, pipeline: str, environment: str) -> str:
    """The JSON text a message starts with, up to its sentence: ``{"severity": …, "event": …,
    "pipeline": …, "environment": …, "message": "``. The caller writes the sentence (escaped as
    its template needs: a States.Format string, an EventBridge input template), closes it, adds
    its own values and closes the object."""
    head = json.dumps(
        {SEVERITY_KEY: severity, "event": event, **message_identity(pipeline, environment)}
    )
    return head[:-1] + ', "message": "'


def filter_policy(receives: str) -> dict[str, Any] | None:
    """The filter policy of a subscription that receives ``receives``; None for ``all``."""
    if receives == "all":
        return None
    return FILTER_POLICIES[receives]
