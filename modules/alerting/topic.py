"""The environment's alert topic: what every alert goes through.

Creates
- the alert key: a customer-managed KMS key of its own (rotation on, deletion window from config,
  an alias) for the topic and the transform-job rules' dead-letter queues, which carry alert
  messages only. Its key policy lets the services that publish use it, each held to what it
  publishes to: CloudWatch alarms and EventBridge rules only for this topic (the
  ``kms:EncryptionContext:aws:sns:topicArn`` SNS sets), EventBridge only for this account
  (``aws:SourceAccount``), and for the dead-letter queues only as this environment's rules
  (``aws:SourceArn``). The data key (modules/storage.py) then names no service for alerts;
- the KMS-encrypted SNS topic, with a topic policy that lets CloudWatch alarms and EventBridge
  rules of this account's pipelines publish (confused-deputy conditions) and refuses non-TLS
  publishing;
- the subscriptions from config, each with the message-body filter policy of what it receives
  (modules/alert_routing.py), and for a Lambda endpoint the function's invoke permission, under a
  statement id of its own (``Names.alert_invoke_statement``);
- an alarm on the topic's ``NumberOfNotificationsFailed``: deliveries SNS gave up on. It has no
  action, since it would go through the topic that is failing; the environment's dashboard shows
  it (modules/dashboard.py).

Needs: ``Names``, ``AwsContext``, the subscriptions, ``allow_destroy`` and the key's deletion
window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from constructs import Construct

from imports.aws import (
    CloudwatchMetricAlarm,
    KmsAlias,
    KmsKey,
    LambdaPermission,
    SnsTopic,
    SnsTopicPolicy,
    SnsTopicSubscription,
)
from modules.alert_routing import FILTER_POLICY_SCOPE, filter_policy
from modules.aws_context import AwsContext
from modules.config import Subscription
from modules.iam import (
    KEY_USE_ACTIONS,
    Statement,
    allow,
    deny_insecure_transport,
    key_admin_statement,
    policy_document,
)
from modules.naming import Names
from modules.storage import protect

# The delivery alarm's period: SNS retries a failing endpoint for a while before it counts a
# notification as failed, so a finer period would not tell sooner.
DELIVERY_ALARM_PERIOD_SECONDS = 300


@dataclass(frozen=True)
class AlertTopicOutputs:
    """Where alerts go: the topic the state machines, alarms and rules publish to, and the key
    that encrypts it (publishers and the rules' dead-letter queues use it)."""

    topic_arn: str
    topic_name: str
    key_arn: str


class AlertTopic(Construct):
    """The environment's alert key, topic, topic policy, subscriptions and delivery alarm.

    Inputs: ``names``, ``aws``, ``subscriptions`` (from the environment's alerting config),
    ``allow_destroy`` and ``key_deletion_window_days`` (the alert key's). Outputs: ``outputs``,
    an ``AlertTopicOutputs`` (topic ARN and name, key ARN).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Names,
        aws: AwsContext,
        subscriptions: list[Subscription],
        allow_destroy: bool,
        key_deletion_window_days: int,
    ) -> None:
        super().__init__(scope, id)
        # Known before the topic exists: the key policy names it, and the topic names the key.
        planned_topic_arn = aws.arn("sns", names.alert_topic)
        key = KmsKey(
            self,
            "key",
            description=f"Encrypts the alerts of {names.prefix} (topic and dead-letter queues)",
            enable_key_rotation=True,
            deletion_window_in_days=key_deletion_window_days,
            policy=_key_policy(names, aws, planned_topic_arn),
            lifecycle=protect(allow_destroy),
        )
        key_arn = key.arn
        KmsAlias(self, "key-alias", name=names.alert_key_alias, target_key_id=key.key_id)
        topic = SnsTopic(
            self,
            "topic",
            name=names.alert_topic,
            display_name=f"{names.prefix} batch inference alerts",
            kms_master_key_id=key_arn,
        )
        topic_arn, topic_name = topic.arn, topic.name
        self._topic_policy(names, aws, topic_arn)
        for index, subscription in enumerate(subscriptions):
            self._subscription(index, subscription, names, aws, topic_arn)
        self._delivery_alarm(names, topic_name)
        self.outputs = AlertTopicOutputs(
            topic_arn=topic_arn, topic_name=topic_name, key_arn=key_arn
        )

    def _topic_policy(self, names: Names, aws: AwsContext, topic_arn: str) -> None:
        """Alarms and EventBridge rules of this account's pipelines may publish, over TLS only."""
        SnsTopicPolicy(
            self,
            "topic-policy",
            arn=topic_arn,
            policy=policy_document(
                allow(
                    "CloudWatchAlarmsOfThisAccountPublish",
                    ["sns:Publish"],
                    topic_arn,
                    Principal={"Service": aws.service_principal("cloudwatch")},
                    Condition={
                        "StringEquals": {"aws:SourceAccount": aws.account_id},
                        "ArnLike": {
                            "aws:SourceArn": aws.arn(
                                "cloudwatch", f"alarm:{names.pipelines_pattern}"
                            )
                        },
                    },
                ),
                allow(
                    "EventBridgeRulesOfThisAccountPublish",
                    ["sns:Publish"],
                    topic_arn,
                    Principal={"Service": aws.service_principal("events")},
                    Condition={
                        "StringEquals": {"aws:SourceAccount": aws.account_id},
                        "ArnLike": {
                            "aws:SourceArn": aws.arn("events", f"rule/{names.pipelines_pattern}")
                        },
                    },
                ),
                deny_insecure_transport("sns:Publish", topic_arn),
            ),
        )

    def _subscription(
        self,
        index: int,
        subscription: Subscription,
        names: Names,
        aws: AwsContext,
        topic_arn: str,
    ) -> None:
        """One subscription with the filter policy of what it receives (and, for a Lambda
        endpoint, the function's permission for the topic)."""
        if subscription.protocol == "lambda":
            # SNS invokes a function only with the function's own permission for this topic.
            LambdaPermission(
                self,
                f"subscription-{index}-invoke",
                statement_id=names.alert_invoke_statement(subscription.endpoint),
                action="lambda:InvokeFunction",
                function_name=subscription.endpoint,
                principal=aws.service_principal("sns"),
                source_arn=topic_arn,
            )
        policy = filter_policy(subscription.receives)
        routing: dict[str, str] = {}
        if policy is not None:  # receives: all keeps no policy (every message)
            routing = {
                "filter_policy": json.dumps(policy),
                "filter_policy_scope": FILTER_POLICY_SCOPE,
            }
        SnsTopicSubscription(
            self,
            f"subscription-{index}",
            topic_arn=topic_arn,
            protocol=subscription.protocol,
            endpoint=subscription.endpoint,
            **routing,
        )

    def _delivery_alarm(self, names: Names, topic_name: str) -> None:
        """Notifications SNS could not deliver to a subscriber. No action: it could only tell
        through the topic that is failing; the dashboard shows it."""
        CloudwatchMetricAlarm(
            self,
            "delivery-alarm",
            alarm_name=names.alert_delivery_alarm,
            alarm_description=(
                f"{names.prefix}: SNS could not deliver alerts of {names.alert_topic} to a "
                "subscriber (an endpoint gone, a Lambda failing, an unconfirmed address). This "
                "alarm cannot page through the failing topic: watch the dashboard."
            ),
            namespace="AWS/SNS",
            metric_name="NumberOfNotificationsFailed",
            dimensions={"TopicName": topic_name},
            statistic="Sum",
            period=DELIVERY_ALARM_PERIOD_SECONDS,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            # No data: nothing was published, so nothing failed.
            treat_missing_data="notBreaching",
        )


def _service_uses_key(sid: str, principal: str, condition: dict[str, Any]) -> Statement:
    """A key policy statement: a service may encrypt and decrypt alerts, under ``condition``."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": principal},
        "Action": KEY_USE_ACTIONS,
        "Resource": "*",  # in a key policy, "*" means this key
        "Condition": condition,
    }


def _key_policy(names: Names, aws: AwsContext, topic_arn: str) -> str:
    """The account administers the key; the services that publish alerts use it, each for what
    it publishes to. SNS asks KMS for a publisher's data key with the topic's ARN as encryption
    context; CloudWatch sends no aws:SourceAccount with these calls (a condition on it silently
    stops alarm delivery), so the encryption context is what holds it to this topic."""
    this_topic = {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}
    this_account = {"aws:SourceAccount": aws.account_id}
    return policy_document(
        key_admin_statement(aws.partition, aws.account_id),
        _service_uses_key(
            "AlarmsPublishToTheAlertTopic",
            aws.service_principal("cloudwatch"),
            {"StringEquals": this_topic},
        ),
        _service_uses_key(
            "EventRulesOfThisAccountPublishToTheAlertTopic",
            aws.service_principal("events"),
            {"StringEquals": {**this_account, **this_topic}},
        ),
        _service_uses_key(
            # The transform-job rules keep what they could not publish in their dead-letter
            # queues, which this key encrypts.
            "EventRulesOfThisEnvironmentKeepTheirDeadLetters",
            aws.service_principal("events"),
            {
                "StringEquals": this_account,
                "ArnLike": {"aws:SourceArn": aws.arn("events", f"rule/{names.pipelines_pattern}")},
            },
        ),
    )
