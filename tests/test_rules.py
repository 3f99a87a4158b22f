"""Contract validation: explicit casts, every failed rule named, nothing rounded or nulled quietly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from bronze.records import ERROR
from contracts.meters import silver as contracts
from silver.rules import RULES, validate

METERS = pl.DataFrame({"meter_id": ["IESCO-000001", "IESCO-000002"]})


def readings(**columns: list[str | None]) -> pl.DataFrame:
    """Raw reading records, with good defaults for the columns not given."""
    n = len(next(iter(columns.values())))
    good = {
        "meter_id": "IESCO-000001",
        "reading_ts": "2024-01-01 00:00:00",
        "kwh": "0.500",
        "voltage": "230.1",
        "current_a": "1.2",
        "power_factor": "0.95",
        "frequency_hz": "50.01",
    }
    data = {name: columns.get(name, [value] * n) for name, value in good.items()}
    return pl.DataFrame({ERROR: [None] * n, **data}, schema_overrides={ERROR: pl.String})


def rules_of(raw: pl.DataFrame, table=contracts.readings, parents=None) -> list[list[str]]:
    return validate(raw, table, parents if parents is not None else {"meters": METERS})[RULES].to_list()


def test_good_rows_pass_and_are_typed() -> None:
    checked = validate(readings(kwh=["0.5", " 1.250 "]), contracts.readings, {"meters": METERS})
    assert checked[RULES].to_list() == [[], []]
    assert checked["kwh"].to_list() == [Decimal("0.500"), Decimal("1.250")]
    assert checked["reading_ts"][0] == dt.datetime(2024, 1, 1)


def test_values_are_never_rounded_or_guessed() -> None:
    raw = readings(
        kwh=["1.2345", "1e3", "-1", ""],
        reading_ts=["24-1-1 00:00:00", "2024-02-30 00:00:00", "2024-01-01T05:00:00", "2024-01-01"],
    )
    assert rules_of(raw) == [
        ["reading_ts:type", "kwh:type"],
        ["reading_ts:type", "kwh:type"],
        ["kwh:range"],
        ["reading_ts:type", "kwh:not_null"],
    ]


def test_non_finite_and_out_of_range_floats_fail() -> None:
    raw = readings(voltage=["inf", "nan", "-3", "1e2"], power_factor=["0.9", "1.5", "x", "1"])
    assert rules_of(raw) == [
        ["voltage:type"],
        ["voltage:type", "power_factor:range"],
        ["voltage:range", "power_factor:type"],
        [],
    ]


def test_foreign_key_and_structural_errors() -> None:
    raw = readings(meter_id=["IESCO-000009", "IESCO-000002"]).with_columns(pl.Series(ERROR, [None, "row:field_count"]))
    assert rules_of(raw) == [["fk:meters"], ["row:field_count"]]


def test_codes_are_normalised_to_their_canonical_spelling() -> None:
    raw = pl.DataFrame(
        {
            ERROR: [None, None, None],
            "division_code": ["ISB-1", "X-2", "Y-3"],
            "division": ["Islamabad-I", "d", "e"],
            "district": [" islamabad", "RAWAL-PINDI", "Karachi"],
        },
        schema_overrides={ERROR: pl.String},
    )
    checked = validate(raw, contracts.divisions, {})
    assert checked["district"].to_list() == ["Islamabad", "Rawalpindi", "Karachi"]
    assert checked[RULES].to_list() == [[], [], ["district:allowed"]]


def test_row_checks_name_the_broken_check() -> None:
    good = {
        "bill_id": "B1",
        "meter_id": "IESCO-000001",
        "billing_month": "2024-01-01",
        "units_kwh": "10",
        "energy_charge": "57.90",
        "fixed_charge": "75.00",
        "gst": "23.92",
        "electricity_duty": "0.87",
        "tv_fee": "35.00",
        "total_amount": "192.69",
        "issue_date": "2024-02-05",
        "due_date": "2024-02-20",
    }
    raw = pl.DataFrame([good, good | {"total_amount": "200.00", "billing_month": "2024-01-02"}]).with_columns(
        pl.lit(None, pl.String).alias(ERROR)
    )
    assert rules_of(raw, contracts.bills) == [[], ["check:first_of_month", "check:total_is_sum"]]


@settings(max_examples=100, deadline=None)
@given(
    wh=st.integers(min_value=0, max_value=10**9),
    voltage=st.floats(min_value=0, max_value=1000, allow_nan=False),
    moment=st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2099, 12, 31)),
)
def test_written_values_read_back_exactly(wh: int, voltage: float, moment: dt.datetime) -> None:
    """Any in-range value, written as text the way a producer would, validates to exactly that value."""
    moment = moment.replace(microsecond=0)
    raw = readings(
        kwh=[f"{wh // 1000}.{wh % 1000:03d}"],
        voltage=[repr(voltage)],
        reading_ts=[moment.strftime("%Y-%m-%d %H:%M:%S")],
    )
    checked = validate(raw, contracts.readings, {"meters": METERS})
    assert checked[RULES][0].to_list() == []
    assert checked["kwh"][0] == Decimal(wh) / 1000
    assert checked["voltage"][0] == voltage
    assert checked["reading_ts"][0] == moment
