"""Value pools of the differential tests (no tests here): per DuckDB type, SQL expressions of values that stress
the official rule (near the tolerance, out of range, infinite, missing, printing like another type), and the Python
values the conversion can hand over."""

from __future__ import annotations

import datetime as dt
import functools
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd


@functools.cache
def has_variant() -> bool:
    """Whether this DuckDB stores VARIANT columns in a new database file (1.5 has the type, not in its files)."""
    with tempfile.TemporaryDirectory() as directory:
        try:
            with duckdb.connect(str(Path(directory) / "probe.duckdb")) as connection:
                connection.execute("CREATE TABLE t AS SELECT 1::VARIANT AS v")
            return True
        except duckdb.Error:
            return False


def _cast(values: list[str], sql_type: str) -> list[str]:
    return [value if value == "NULL" else f"CAST({value} AS {sql_type})" for value in values]


NUMBERS = ["0", "1", "-1", "10", "9", "5", "0.005", "0.0099", "0.01", "0.0101", "1.0099", "1.0101", "9.99", "9.999",
           "10.008", "0.3", "0.1 + 0.2", "1e16", "123456.789", "1e-5", "-0.0", "2.5"]
SPECIAL_FLOATS = ["'inf'", "'-inf'", "'nan'"]
BIG_INTEGERS = ["9007199254740992", "9007199254740993", "90071992547409925", "999999999999999999",
                "1000000000000000000", "-4611686018427387904"]
TEXTS = ["''", "'a'", "'A'", "'a '", "'1'", "'1.0'", "'10'", "'9'", "'nan'", "'None'", "'<NA>'", "'NaT'", "'True'",
         "'False'", "'é'", "'é'", "'Ａ'", "'2020-01-01'", "'2020-01-01 00:00:00'", "'10:00:00'", "'NULL'", "'[1, 2]'",
         "'00000000-0000-0000-0000-000000000001'", "'b''\\x01'''", "'∑ unicode'", "'tab\there'"]
TIMESTAMPS = ["'2020-01-01'", "'2020-01-01 00:00:00.5'", "'1999-12-31 23:59:59'", "'2020-01-01 10:00:00'",
              "'0999-01-01'", "'9999-12-31 23:59:59.999999'", "'infinity'", "'-infinity'", "'20000-01-01'",
              "'0044-03-15 (BC)'"]
UNION_TYPE = "UNION(i BIGINT, d DOUBLE, s VARCHAR, t TIMESTAMP, b BOOLEAN, u UUID, tm TIME, iv INTERVAL, dt DATE)"

TYPES: dict[str, list[str]] = {
    "TINYINT": ["NULL", "0", "1", "-1", "127"],
    "INTEGER": ["NULL", "0", "1", "-1", "10", "9", "5", "11", "-3"],
    "BIGINT": ["NULL", "0", "1", "5", "10", *BIG_INTEGERS],
    "UBIGINT": ["NULL", "0", "5", "18446744073709551615", "9007199254740993", "1000000000000000000"],
    "HUGEINT": ["NULL", "0", "5", "170141183460469231731687303715884105727", "1267650600228229401496703205376",
                "-5", "999999999999999999"],
    "DOUBLE": ["NULL", *_cast(NUMBERS + SPECIAL_FLOATS, "DOUBLE")],
    "FLOAT": ["NULL", *_cast(["0.1", "2.5", "-3", "1.0099", "16777217", "'nan'", "'inf'"], "FLOAT")],
    "DECIMAL(38,10)": ["NULL", *_cast(["0", "1", "0.005", "0.0101", "9.999", "10.008", "12345678901234567890.5"],
                                      "DECIMAL(38,10)")],
    "DECIMAL(4,1)": ["NULL", *_cast(["0.1", "1.0", "999.9", "-2.5"], "DECIMAL(4,1)")],
    "VARCHAR": ["NULL", *TEXTS],
    "JSON": ["NULL", *_cast(["'{\"a\": 1}'", "'[1, 2]'", "'1'", "'\"x\"'", "'null'"], "JSON")],
    "ENUM('a', 'nan', 'None')": ["NULL", "'a'", "'nan'", "'None'"],
    "BOOLEAN": ["NULL", "TRUE", "FALSE"],
    "DATE": ["NULL", *_cast(["'2020-01-01'", "'1999-12-31'", "'0999-01-01'", "'9999-12-31'", "'0044-03-15 (BC)'"],
                            "DATE")],
    "TIMESTAMP": ["NULL", *_cast(TIMESTAMPS, "TIMESTAMP")],
    "TIMESTAMP_S": ["NULL", *_cast(["'2020-01-01'", "'1999-12-31 23:59:59'", "'infinity'", "'-infinity'"],
                                   "TIMESTAMP_S")],
    "TIMESTAMP_MS": ["NULL", *_cast(["'2020-01-01'", "'2020-01-01 00:00:00.5'", "'9999-12-31 23:59:59.999999'",
                                     "'-infinity'"], "TIMESTAMP_MS")],
    "TIMESTAMP_NS": ["NULL", *_cast(["'2020-01-01'", "'2020-01-01 00:00:00.000000001'", "'2262-04-11'",
                                     "'infinity'"], "TIMESTAMP_NS")],
    "TIMESTAMPTZ": ["NULL", *_cast(["'2020-01-01 00:00:00+00'", "'2020-01-01 01:00:00+01'", "'infinity'",
                                    "'2020-01-01 00:00:00.5+00'", "'1999-12-31 23:00:00+00'"], "TIMESTAMPTZ")],
    "TIME": ["NULL", *_cast(["'10:00:00'", "'00:00:00'", "'23:59:59.999999'"], "TIME")],
    "INTERVAL": ["NULL", "INTERVAL 1 DAY", "INTERVAL 10 HOURS", "INTERVAL (-1) DAY", "INTERVAL 1 MONTH",
                 "INTERVAL 1 MICROSECOND"],
    "UUID": ["NULL", *_cast(["'00000000-0000-0000-0000-000000000001'", "'00000000-0000-0000-0000-000000000000'"],
                            "UUID")],
    "BLOB": ["NULL", *_cast(["'\\x01'", "''", "'abc'"], "BLOB")],
    "INTEGER[]": ["NULL", "[]", "[1]", "[1, 2]", "[NULL]"],
    "INTEGER[2]": ["NULL", "[1, 2]::INTEGER[2]", "[1, NULL]::INTEGER[2]"],
    "STRUCT(a INTEGER)": ["NULL", "{'a': 1}", "{'a': NULL}"],
    "MAP(VARCHAR, INTEGER)": ["NULL", "MAP {'a': 1}", "MAP {}"],
    UNION_TYPE: ["NULL", *_cast(["1::BIGINT", "1.0::DOUBLE", "'1'", "TRUE", "TIMESTAMP '2020-01-01'",
                                 "'2020-01-01 00:00:00'", "'00000000-0000-0000-0000-000000000001'::UUID",
                                 "'<NA>'", "TIME '10:00:00'", "INTERVAL 10 HOURS", "DATE '2020-01-01'",
                                 "'2020-01-01'", "TIMESTAMP 'infinity'", "'nan'"], UNION_TYPE)],
}
if has_variant():
    TYPES["VARIANT"] = ["NULL", *_cast(["1", "1.0", "'1'", "TRUE", "'True'", "1.5::DECIMAL(4,1)",
                                        "DATE '2020-01-01'", "'2020-01-01'", "TIMESTAMP '2020-01-01'", "'<NA>'",
                                        "'nan'", "'nan'::DOUBLE", "[1, 2]", "12345678901234567890::HUGEINT"],
                                       "VARIANT")]

_SCALAR_TARGETS = {
    "INTEGER": ["DOUBLE", "VARCHAR", "BIGINT", "BOOLEAN"],
    "BIGINT": ["DOUBLE", "INTEGER", "VARCHAR", "HUGEINT"],
    "DOUBLE": ["VARCHAR", "DECIMAL(38,10)", "FLOAT", "BIGINT"],
    "DECIMAL(38,10)": ["DOUBLE", "VARCHAR"],
    "DATE": ["TIMESTAMP", "VARCHAR", "TIMESTAMPTZ"],
    "TIMESTAMP": ["DATE", "TIMESTAMP_NS", "TIMESTAMP_S", "VARCHAR", "TIMESTAMPTZ"],
    "BOOLEAN": ["INTEGER", "VARCHAR"],
    "VARCHAR": ["INTEGER", "DOUBLE", "DATE", "UUID", "JSON"],
    "UUID": ["VARCHAR"],
    "TIME": ["VARCHAR", "INTERVAL"],
}


def conversions(sql_type: str) -> list[str]:
    """Types an agent might cast a column of this type to."""
    return _SCALAR_TARGETS.get(sql_type, [])


POOL_VALUES = [
    None, float("nan"), pd.NA, pd.NaT, 0, 1, -1, 2**53 + 1, 10**30, True, False, 0.0, -0.0, 1.0, 1.005, 1.0101, 1e16,
    float("inf"), float("-inf"), "", "1", "1.0", "nan", "None", "True", "NaT", "<NA>", "2020-01-01",
    "2020-01-01 00:00:00", "10:00:00", pd.Timestamp("2020-01-01"), dt.datetime(2020, 1, 1),
    pd.Timestamp("2020-01-01 00:00:01"), pd.Timestamp("2020-01-01", tz="UTC"),
    pd.Timestamp("2020-01-01 01:00", tz="Europe/Paris"), pd.Timestamp(np.datetime64(2**63 - 1, "us")),
    dt.date(2020, 1, 1), dt.time(0, 0), dt.time(10, 0), dt.timedelta(hours=10), pd.Timedelta(hours=10),
    pd.Timedelta(0), uuid.UUID(int=1), b"1", bytearray(b"1"), Decimal("1.0"), np.array([1]), np.array([1, 2]),
    {"a": 1}, [1],
]
