"""The column types a predictions table accepts (``delivery.table.columns[].type``): Athena's
primitive DDL types (Hive's names, as the Glue Data Catalog stores them), in one place.

Accepted: boolean, tinyint, smallint, int (or integer), bigint, float, double, decimal(p) and
decimal(p,s) with 1 <= p <= 38 and 0 <= s <= p, char(n) with 1 <= n <= 255, varchar(n) with
1 <= n <= 65535, string, binary, date, timestamp. Complex types (array, map, struct) are refused:
a prediction is a row of scalars, and their grammar is where a typo reaches Athena unnoticed.
https://docs.aws.amazon.com/athena/latest/ug/data-types.html

Needs only the standard library.
"""

from __future__ import annotations

import re

# The types without parameters.
SIMPLE_TYPES = (
    "boolean",
    "tinyint",
    "smallint",
    "int",
    "integer",
    "bigint",
    "float",
    "double",
    "string",
    "binary",
    "date",
    "timestamp",
)
DECIMAL_MAX_PRECISION = 38
CHAR_MAX_LENGTH = 255
VARCHAR_MAX_LENGTH = 65535  # Hive's limit of varchar(n)

_PARAMETERIZED = re.compile(r"(decimal|char|varchar)\((\d+)(?:,(\d+))?\)")
ACCEPTED = (
    f"{', '.join(SIMPLE_TYPES)}, decimal(p[,s]) (p 1-{DECIMAL_MAX_PRECISION}, s 0-p), "
    f"char(n) (n 1-{CHAR_MAX_LENGTH}), varchar(n) (n 1-{VARCHAR_MAX_LENGTH})"
)


def _parameter_mistake(name: str, first: int, second: int | None) -> str | None:
    if name == "decimal":
        if not 1 <= first <= DECIMAL_MAX_PRECISION:
            return f"a decimal's precision is 1 to {DECIMAL_MAX_PRECISION}"
        if second is not None and second > first:
            return "a decimal's scale is at most its precision"
        return None
    if second is not None:
        return f"{name}(n) takes one length"
    longest = CHAR_MAX_LENGTH if name == "char" else VARCHAR_MAX_LENGTH
    return None if 1 <= first <= longest else f"a {name}'s length is 1 to {longest}"


def athena_type(value: str) -> str:
    """The type, lowercase (as the catalog stores it), or ValueError (one line) for a type that is
    not one of Athena's primitive types."""
    text = re.sub(r"\s+", "", value.lower())
    if text in SIMPLE_TYPES:
        return text
    match = _PARAMETERIZED.fullmatch(text)
    if match is None:
        raise ValueError(f"{value!r} is not an Athena primitive type; use one of {ACCEPTED}")
    second = None if match[3] is None else int(match[3])
    mistake = _parameter_mistake(match[1], int(match[2]), second)
    if mistake is not None:
        raise ValueError(f"{value!r}: {mistake}")
    return text
