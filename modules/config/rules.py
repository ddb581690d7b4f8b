"""The rule of a pattern in words, with one valid example: what a config error says instead of a
regular expression ("a project name is 2-12 lowercase letters and digits, starting with a letter,
e.g. mlbatch"). A person fixing a config should not have to read a regex.

A ``Rule`` pairs a pattern with its words; creating one registers it under its pattern text, so
that every message about a value that does not match a pattern is worded by ``explained``:
pydantic's pattern errors (rendered by ``modules.config.loading``), SageMaker's request shapes
(``modules.config.sagemaker_shapes``) and AWS's name patterns (``modules.config.aws_names``).
The project's own patterns and their rules are in ``modules.config.fields`` (and next to the one
model that uses them); AWS's patterns come from botocore (``aws_facts.json``), so their words are
here, keyed by botocore's text. Needs nothing else of the project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RULES: dict[str, Rule] = {}


@dataclass(frozen=True)
class Rule:
    """A pattern (a Python regex, or botocore's Java one for AWS's rules), the rule it states in
    words, and one value it accepts (tests/test_config_rules.py checks the example passes)."""

    pattern: str
    words: str
    example: str

    def __post_init__(self) -> None:
        known = RULES.setdefault(self.pattern, self)
        if known != self:
            raise ValueError(f"two rules for one pattern: {known.words!r} and {self.words!r}")

    def __str__(self) -> str:
        return f"{self.words}, e.g. {self.example}"

    def matches(self, value: str) -> bool:
        """Whether the whole value matches (a Python pattern; ``$`` not before a newline)."""
        return re.fullmatch(self.pattern, value) is not None


def rule_for(pattern: str) -> Rule | None:
    return RULES.get(pattern)


def explained(
    pattern: str,
    otherwise: str = "not in the form this setting needs (docs/config-reference.md gives it)",
) -> str:
    """The rule of ``pattern`` in words with an example, never the pattern itself; ``otherwise``
    for a pattern nobody has put in words (a new field, a new botocore pattern: the tests find
    those a config value can reach)."""
    rule = rule_for(pattern)
    return str(rule) if rule is not None else otherwise


# --- AWS's own patterns, as botocore states them (the SageMaker request members and names the
# config feeds; tests/test_config_rules.py finds every one a config value can fail) -----------

Rule(
    r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)",
    "a tag value is letters, digits, spaces and _ . : / = + - @",
    "churn",
)
Rule(r"(https|s3)://([^/]+)/?(.*)", "an S3 location is s3://<bucket>/<key>", "s3://bucket/churn/")
Rule(
    r"[\S]+",
    "a container image is an image URI without spaces",
    "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1",
)
Rule(
    r"(arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:[a-z\-]*\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})"
    r"(?<!-)(\/[0-9]{1,9})?",
    "a model package is named by its ARN: a group name of 1-63 letters, digits and hyphens, not "
    "ending in a hyphen, and a version of at most 9 digits",
    "arn:aws:sagemaker:eu-west-1:123456789012:model-package/ltv-models/3",
)
_ENVIRONMENT_VARIABLE = (
    "an environment variable name is letters, digits and underscores, not starting with a digit"
)
Rule(r"[a-zA-Z_][a-zA-Z0-9_]*", _ENVIRONMENT_VARIABLE, "MODEL_THRESHOLD")
Rule(r"[a-zA-Z_][a-zA-Z0-9_]{0,1023}", _ENVIRONMENT_VARIABLE, "MODEL_THRESHOLD")
Rule(r"[-0-9a-zA-Z]+", "an id is letters, digits and hyphens", "subnet-0123abcd")
Rule(
    r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
    "a SageMaker name is 1-63 letters, digits and hyphens, starting and ending with a letter or "
    "digit",
    "ltv-models",
)
Rule(
    r"[/\.\-_A-Za-z0-9]+",
    "an event bus name is letters, digits and . - _ /",
    "ml-events",
)
Rule(
    r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*",
    "a Glue name or type is text without control characters (tabs aside)",
    "score",
)
