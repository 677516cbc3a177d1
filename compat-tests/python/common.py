"""Shared by the Python client programs: connection settings from PG* variables, JSON output."""
import datetime
import decimal
import json
import os
import sys
import uuid

DSN = "host={} port={} user={} dbname={}".format(
    os.environ["PGHOST"], os.environ["PGPORT"], os.environ["PGUSER"], os.environ["PGDATABASE"])
URL_TAIL = "{}@{}:{}/{}".format(os.environ["PGUSER"], os.environ["PGHOST"], os.environ["PGPORT"], os.environ["PGDATABASE"])


def plain(value):
    """Values as JSON can hold them, keeping their Python type visible."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes:" + bytes(value).hex()
    if isinstance(value, (decimal.Decimal, datetime.date, datetime.time, datetime.timedelta, uuid.UUID)):
        return "{}:{}".format(type(value).__name__, value)
    return value


def report(result):
    json.dump(plain(result), sys.stdout, indent=1, sort_keys=True, default=str)
