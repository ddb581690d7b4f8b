"""The rules AWS applies to a name: the longest name and the pattern a request member accepts.

``check_name`` refuses a name (one line, naming its source) that the request member taking it
would refuse: botocore's maximum and pattern for that member (``modules.config.botocore_facts``),
or for the few members botocore gives no maximum, ``PROSE_NAME_LIMITS``
(``modules.config.aws_facts``); a pattern is said in words (``modules.config.rules``). botocore's
patterns are Java regular expressions: ``java_pattern`` is the project's one converter to
Python's, for these checks, the SageMaker value checks (``modules.config.sagemaker_shapes``) and
tests/support/aws_shapes.py. Needs the ``Limit`` of a name ``Names`` builds (``modules.naming``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from modules.config.aws_facts import PROSE_NAME_LIMITS
from modules.config.botocore_facts import request_member
from modules.config.rules import explained
from modules.naming import Limit


@dataclass(frozen=True)
class NameRule:
    """The longest name (and, where botocore has one, the pattern) a request member accepts."""

    max_length: int
    pattern: str | None
    source: str


@functools.cache
def name_rule(member: str) -> NameRule:
    """A name member's limits: botocore's, or for the few members its models give no maximum,
    ``PROSE_NAME_LIMITS`` (whose service models are then not loaded at all)."""
    if member in PROSE_NAME_LIMITS:
        max_length, page = PROSE_NAME_LIMITS[member]
        return NameRule(max_length, None, page)
    shape = request_member(member)
    service, _, request = member.partition(":")
    return NameRule(shape["max"], shape.get("pattern"), f"botocore's {service} model ({request})")


def check_name(limit: Limit) -> None:
    """Raise ValueError (one line, naming the limit's source) when AWS would refuse the name."""
    rule = name_rule(limit.member)
    if len(limit.name) > rule.max_length:
        raise ValueError(
            f"{limit.what} name {limit.name!r} is {len(limit.name)} characters; "
            f"{rule.source} allows at most {rule.max_length}"
        )
    if rule.pattern is not None and not java_pattern(rule.pattern).fullmatch(limit.name):
        raise ValueError(
            f"{limit.what} name {limit.name!r} is refused by {rule.source}: "
            + explained(rule.pattern, "a character it has, or their order")
        )


# Bodies of character classes for the Java regex property classes botocore's patterns use. L, N, Z
# are wider than Java's (\w also has digits and "_"); M, P and S are their ASCII / basic-accent
# parts only, narrower than Java's: a value with other marks, punctuation or symbols could be
# refused where AWS would accept it (Python's re has no Unicode property classes).
_JAVA_CLASSES = {
    "L": r"\w",
    "N": r"\d",
    "Z": r"\s",
    "M": "\u0300-\u036f",
    "Digit": "0-9",
    "XDigit": "0-9a-fA-F",
    "Alpha": "a-zA-Z",
    "Alnum": "a-zA-Z0-9",
    "Space": r"\s",
    "Punct": r"!-/:-@\[-`{-~",
    "P": r"!-/:-@\[-`{-~",
    "S": r"$+<=>^`|~",
    "Zs": " \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000",
    "ASCII": "\x00-\x7f",
}


@functools.cache
def java_pattern(pattern: str) -> re.Pattern[str]:
    r"""A botocore pattern (a Java regular expression) as a Python one: property classes
    (``\p{L}``, ...) rewritten inside or outside ``[...]``, UTF-16 surrogate pairs as code points,
    a ``-`` after a class escape inside ``[...]`` as the literal Java reads, a quantifier on ``$``
    dropped (Java allows it; it changes nothing). ``.`` also matches a newline (wider than Java's).
    The one converter of the project: the config checks and tests/support/aws_shapes.py."""
    out: list[str] = []
    in_class, i = False, 0
    while i < len(pattern):
        rest = pattern[i:]
        escape = None
        if match := re.match(r"\\p\{(\w+)\}", rest):
            body = _JAVA_CLASSES[match[1]]
            escape = body if in_class else f"[{body}]"
        elif match := re.match(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", rest, re.I):
            high, low = int(match[1], 16), int(match[2], 16)
            escape = f"\\U{0x10000 + (high - 0xD800) * 0x400 + (low - 0xDC00):08X}"
        elif match := re.match(r"\\.", rest):
            escape = match[0]
        elif not in_class and (match := re.match(r"\$\{\d+(,\d*)?\}", rest)):
            escape = "$"
        if match:
            out.append(escape or "")
            i += match.end()
            if in_class and match[0][1] in "pwdsWDS" and pattern[i : i + 1] == "-":
                out.append("\\-")  # "[\w-_]": after a class, Java reads "-" as itself
                i += 1
            continue
        char = pattern[i]
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return re.compile("".join(out), re.DOTALL)
