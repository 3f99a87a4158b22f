"""The prepared layers against independent references: TA-Lib's EMA and ATR as plain loops, tower sessions on
hand-made sequences (open ones refreshed as a full rebuild would list them), usage costs and WAK balances computed
by hand, at the default tariff too, and the line that says where a missing tariff goes."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from contracts.telecom.silver import DATA_TYPES
from core.errors import LakehouseError
from core.lake import Lake
from tests.conftest import assert_same, gold, run_telecom, silver, write_bronze

ACCOUNTS = "account_id,owner_name,email,phone_number\n1,Ann Dube,ann@example.co.za,+27820000001\n"
ACCOUNTS += "2,Ben Zulu,ben@example.co.za,+27820000002\n"
TARIFF = "valid_from,call_zar_per_minute,data_zar_per_gb\n2020-01-01,1.0000,49.0000\n"
DATA_HEADER = "msisdn,tower_id,up_bytes,down_bytes,data_type,ip_address,website_url,event_datetime\n"
CALL_HEADER = "msisdn,tower_id,call_type,dest_nr,call_duration_sec,start_time\n"
FOREX_HEADER = "timestamp,pair_name,bid_price,ask_price,spread,ingested_at\n"


def ema_reference(closes: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(closes), np.nan)
    if len(closes) < n:
        return out
    value = closes[:n].mean()
    out[n - 1] = value
    for i in range(n, len(closes)):
        value = (closes[i] - value) * (2 / (n + 1)) + value
        out[i] = value
    return out


def atr_reference(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(close), np.nan)
    if len(close) <= n:
        return out
    ranges = [
        max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1])) for i in range(1, len(close))
    ]
    value = float(np.mean(ranges[:n]))
    out[n] = value
    for i in range(n + 1, len(close)):
        value = (value * (n - 1) + ranges[i - 1]) / n
        out[i] = value
    return out


@pytest.mark.parametrize("table", ["forex_ohlc_m1", "forex_ohlc_m30", "forex_ohlc_h1"])
def test_ema_and_atr_follow_ta_lib(telecom_copy: Lake, table: str) -> None:
    run_telecom(telecom_copy, select=(f"+{table}",))
    bars = gold(telecom_copy, table, "telecom")
    for pair in ("MRVZAR", "WAKMRV"):
        rows = bars.filter(pl.col("pair_name") == pair).sort("datetime")
        assert rows["bar_number"].to_list() == list(range(1, len(rows) + 1))
        close, high, low = (rows[c].to_numpy() for c in ("close_price", "high_price", "low_price"))
        assert len(rows) > 22
        for n in (8, 21):
            expected_ema, got_ema = ema_reference(close, n), rows[f"ema_{n}"].to_numpy().astype(float)
            expected_atr, got_atr = atr_reference(high, low, close, n), rows[f"atr_{n}"].to_numpy().astype(float)
            np.testing.assert_allclose(got_ema, expected_ema, rtol=1e-12, equal_nan=True)
            np.testing.assert_allclose(got_atr, expected_atr, rtol=1e-9, equal_nan=True)
            assert np.isnan(got_ema[: n - 1]).all() and not np.isnan(got_ema[n - 1 :]).any()
            assert np.isnan(got_atr[:n]).all() and not np.isnan(got_atr[n:]).any()


@pytest.mark.parametrize(("table", "minutes"), [("cdr_usage_summary_30min", 30), ("cdr_usage_summary_1hr", 60)])
def test_wide_usage_buckets_hold_the_feeds_totals(telecom_copy: Lake, table: str, minutes: int) -> None:
    """Built from the 15-minute buckets, a wider bucket holds exactly its calls' and data events' totals."""
    run_telecom(telecom_copy, select=(f"+{table}",))
    calls = silver(telecom_copy, "cdr_voice_calls", "telecom").select(
        "msisdn",
        pl.col("start_time").dt.truncate(f"{minutes}m").alias("bucket_start"),
        (pl.col("call_type") == "voice").cast(pl.Int64).alias("voice_calls"),
        (pl.col("call_type") == "video").cast(pl.Int64).alias("video_calls"),
        pl.col("call_duration_sec").cast(pl.Int64).alias("call_seconds"),
    )
    data = silver(telecom_copy, "cdr_data_usage", "telecom").select(
        "msisdn",
        pl.col("event_datetime").dt.truncate(f"{minutes}m").alias("bucket_start"),
        *[pl.when(pl.col("data_type") == kind).then(pl.col(f"{direction}_bytes")).otherwise(0)
          .cast(pl.Int64).alias(f"{direction}_bytes_{kind}")
          for kind in DATA_TYPES for direction in ("up", "down")],
        pl.col("up_bytes").cast(pl.Int64),
        pl.col("down_bytes").cast(pl.Int64),
    )  # fmt: skip
    totals = pl.concat([calls, data], how="diagonal").fill_null(0)
    expected = totals.group_by("msisdn", "bucket_start").agg(pl.all().sum()).sort("msisdn", "bucket_start")
    got = gold(telecom_copy, table, "telecom").sort("msisdn", "bucket_start").select(expected.columns)
    assert len(got) > 500 and got["bucket_start"].dt.minute().is_in(range(0, 60, minutes)).all()
    assert_same({table: got.cast(expected.schema)}, {table: expected})


def test_bars_are_open_high_low_close_of_the_bid(lake: Lake) -> None:
    ticks = ["2024-01-01 10:00:00.000,MRVZAR,18.1000,18.1100,0.0100,2024-01-01 10:00:01",
             "2024-01-01 10:00:20.500,MRVZAR,18.3000,18.3100,0.0100,2024-01-01 10:00:21",
             "2024-01-01 10:00:40.250,MRVZAR,17.9000,17.9100,0.0100,2024-01-01 10:00:41",
             "2024-01-01 10:00:59.999,MRVZAR,18.0000,18.0100,0.0100,2024-01-01 10:01:00",
             "2024-01-01 10:01:00.000,MRVZAR,18.2000,18.2100,0.0100,2024-01-01 10:01:01"]  # fmt: skip
    _crm(lake)
    write_bronze(lake, "forex_raw", "ticks.csv", FOREX_HEADER + "\n".join(ticks) + "\n", "telecom")
    run_telecom(lake, select=("+forex_ohlc_m1",))
    bars = gold(lake, "forex_ohlc_m1", "telecom").sort("datetime")
    first = bars.row(0, named=True)
    assert (first["open_price"], first["high_price"], first["low_price"], first["close_price"]) == (
        18.1,
        18.3,
        17.9,
        18.0,
    )
    assert first["tick_count"] == 4 and bars["tick_count"].to_list() == [4, 1]
    assert bars["ema_8"].is_null().all()


def _crm(lake: Lake, tariff: str | None = TARIFF) -> None:
    if tariff is not None:
        write_bronze(lake, "tariffs", "tariffs.csv", tariff, "telecom")
    write_bronze(lake, "crm_accounts", "accounts.csv", ACCOUNTS, "telecom")
    write_bronze(lake, "crm_addresses", "addresses.csv",
                 "account_id,street_address,city,state,postal_code,country\n"
                 "1,1 Long St,Cape Town,Western Cape,8001,South Africa\n", "telecom")  # fmt: skip
    write_bronze(lake, "crm_devices", "devices.csv",
                 "account_id,device_id,device_name,device_type,device_os\n"
                 "1,1,Nokia 105,feature_phone,Series 30+\n1,7,iPhone 15,smartphone,iOS 18\n", "telecom")  # fmt: skip


def _data(msisdn: str, tower: int, at: str, up: int = 100, down: int = 200) -> str:
    return f"{msisdn},{tower},{up},{down},text,41.0.0.1,https://example.com,{at}"


def _call(msisdn: str, tower: int, at: str, seconds: int, kind: str = "voice") -> str:
    return f"{msisdn},{tower},{kind},+27831234567,{seconds},{at}"


def _feeds(lake: Lake, data: list[str], calls: list[str], name: str = "a.csv") -> None:
    write_bronze(lake, "cdr_data_usage", name, DATA_HEADER + "".join(f"{r}\n" for r in data), "telecom")
    write_bronze(lake, "cdr_voice_calls", name, CALL_HEADER + "".join(f"{r}\n" for r in calls), "telecom")


def _sessions(lake: Lake, data: list[str], calls: list[str], name: str = "a.csv") -> pl.DataFrame:
    _feeds(lake, data, calls, name)
    run_telecom(lake, select=("+cdr_tower_sessions",))
    return gold(lake, "cdr_tower_sessions", "telecom").sort("msisdn", "session_start")


def _session_tables(lake: Lake) -> dict[str, pl.DataFrame]:
    """The sessions and the open runs, without build times, in a fixed order."""
    tables = {name: gold(lake, name, "telecom").drop("created_at", strict=False) for name in SESSION_TABLES}
    return {name: frame.sort(frame.columns, nulls_last=True) for name, frame in tables.items()}


def _built_whole(lake: Lake, root: Path) -> Lake:
    """A lake holding the same bronze, built in one run (a selected model is built whole)."""
    whole = Lake(root)
    shutil.copytree(lake.bronze, whole.bronze)
    run_telecom(whole, select=("+cdr_tower_sessions",))
    return whole


A, B = "+27820000001", "+27820000002"
SESSION_TABLES = ("cdr_tower_sessions", "cdr_open_runs")
SECONDS = "%Y-%m-%d %H:%M:%S"
GIB = 2**30
USAGE = [_data(A, 1, "2024-01-01 10:05:00", up=GIB // 2, down=GIB // 2),  # 1 GB: 49 ZAR
         _data(A, 1, "2024-01-01 12:10:00", up=0, down=GIB // 4)]  # fmt: skip
CALLS = [_call(A, 1, "2024-01-01 10:20:00", 90), _call(A, 1, "2024-01-01 10:40:00", 30, "video")]


def test_a_session_needs_three_consecutive_interactions_and_ends_when_the_tower_changes(lake: Lake) -> None:
    _crm(lake)
    data = [_data(A, 5, "2024-01-01 10:00:00"), _data(A, 5, "2024-01-01 10:00:10"), _data(A, 6, "2024-01-01 10:00:20"),
            _data(B, 5, "2024-01-01 10:00:00"), _data(B, 5, "2024-01-01 10:05:00"),
            _data(B, 9, "2024-01-01 10:07:00")]  # fmt: skip
    calls = [_call(A, 6, "2024-01-01 10:00:30", 10), _call(A, 6, "2024-01-01 10:01:00", 100),
             _call(A, 5, "2024-01-01 10:09:00", 5), _call(B, 5, "2024-01-01 10:06:00", 30)]  # fmt: skip
    sessions = _sessions(lake, data, calls)
    # A: 5,5 (two: no session), 6,6,6 (a session ending when the 100 s call ends, closed by the call on 5),
    # then 5 (still open). B: 5,5,5 closed by the data event on tower 9.
    assert sessions.select("msisdn", "tower_id", "interaction_count").rows() == [(A, 6, 3), (B, 5, 3)]
    a, b = sessions.row(0, named=True), sessions.row(1, named=True)
    assert str(a["session_start"]) == "2024-01-01 10:00:20" and str(a["session_end"]) == "2024-01-01 10:02:40"
    assert str(a["closed_at"]) == "2024-01-01 10:09:00"
    assert str(b["session_end"]) == "2024-01-01 10:06:30" and b["day"] == "2024-01-01"


def test_simultaneous_interactions_order_data_before_calls(lake: Lake) -> None:
    _crm(lake)
    data = [_data(A, 1, "2024-01-01 10:00:00"), _data(A, 1, "2024-01-01 10:00:10"), _data(A, 1, "2024-01-01 10:00:20"),
            _data(A, 2, "2024-01-01 10:00:30")]  # fmt: skip
    calls = [_call(A, 1, "2024-01-01 10:00:30", 60)]
    # at 10:00:30 the data event on tower 2 comes first: the run on tower 1 is 1,1,1 and closes there
    sessions = _sessions(lake, data, calls)
    assert sessions.select("tower_id", "interaction_count", "session_end", "closed_at").rows() == [
        (
            1,
            3,
            pl.Series(["2024-01-01 10:00:20"]).str.to_datetime()[0],
            pl.Series(["2024-01-01 10:00:30"]).str.to_datetime()[0],
        )
    ]


def test_a_session_spanning_midnight_and_two_batches_is_whole(lake: Lake) -> None:
    _crm(lake)
    first = [_data(A, 3, "2024-01-01 23:58:00"), _data(A, 3, "2024-01-01 23:59:00")]
    _sessions(lake, first, [], "1.csv")
    later = [_data(A, 3, "2024-01-02 00:01:00"), _data(A, 4, "2024-01-02 00:02:00")]
    sessions = _sessions(lake, later, [], "2.csv")
    assert sessions.select("tower_id", "interaction_count", "day").rows() == [(3, 3, "2024-01-02")]
    assert str(sessions["session_start"][0]) == "2024-01-01 23:58:00"


def test_an_open_session_is_listed_then_extended_then_closed_as_a_full_rebuild_would(
    lake: Lake, tmp_path: Path
) -> None:
    _crm(lake)
    run_telecom(lake)  # no CDR yet: the tables start empty; the runs below are incremental (no --select)
    batches = [
        # day 1: A has three interactions on tower 5, still open; B has one on 1, then one on 2
        ([_data(A, 5, "2024-01-01 10:00:00"), _data(A, 5, "2024-01-01 10:01:00"), _data(A, 5, "2024-01-01 10:02:00"),
          _data(B, 1, "2024-01-01 10:00:00"), _data(B, 2, "2024-01-01 10:05:00")], []),
        # day 2: a call extends A's session; B's run on 2 reaches three, a session open since day 1
        ([_data(B, 2, "2024-01-02 07:00:00"), _data(B, 2, "2024-01-02 07:01:00")],
         [_call(A, 5, "2024-01-02 08:00:00", 60)]),
        # day 4 (nothing on day 3): A moves to tower 7, which closes its session
        ([_data(A, 7, "2024-01-04 09:00:00")], []),
    ]  # fmt: skip
    expected = [
        [(A, 5, 3, "2024-01-01 10:02:00", True, None, "9999-12-31")],
        [(A, 5, 4, "2024-01-02 08:01:00", True, None, "9999-12-31"),
         (B, 2, 3, "2024-01-02 07:01:00", True, None, "9999-12-31")],
        [(A, 5, 4, "2024-01-02 08:01:00", False, "2024-01-04 09:00:00", "2024-01-04"),
         (B, 2, 3, "2024-01-02 07:01:00", True, None, "9999-12-31")],
    ]  # fmt: skip
    for number, ((data, calls), rows) in enumerate(zip(batches, expected)):
        _feeds(lake, data, calls, f"{number}.csv")
        run_telecom(lake)
        sessions = gold(lake, "cdr_tower_sessions", "telecom").sort("msisdn", "session_start").select(
            "msisdn", "tower_id", "interaction_count", pl.col("session_end").dt.to_string(SECONDS), "is_open",
            pl.col("closed_at").dt.to_string(SECONDS), "day",
        )  # fmt: skip
        assert sessions.rows() == rows, number
        assert_same(_session_tables(lake), _session_tables(_built_whole(lake, tmp_path / f"whole{number}")))
    open_runs = gold(lake, "cdr_open_runs", "telecom").filter(pl.col("day") == "9999-12-31").sort("msisdn")
    assert open_runs.select("msisdn", "tower_id", "interaction_count").rows() == [(A, 7, 1), (B, 2, 3)]


def test_without_a_tariff_usage_is_priced_at_the_seed_tariff_and_says_so(lake: Lake) -> None:
    _crm(lake, tariff=None)
    _feeds(lake, USAGE, CALLS)
    run_telecom(lake)
    quarter = gold(lake, "cdr_usage_summary_15min", "telecom").sort("bucket_start")
    assert [float(c) for c in quarter["total_cost_zar"]] == [49.0, 1.5, 0.5, 12.25]
    assert quarter["tariff_source"].to_list() == ["default"] * 4
    # a tariff file arrives: the next run prices every bucket from its valid_from on, and each row names it
    write_bronze(lake, "tariffs", "2024.csv", "valid_from,call_zar_per_minute,data_zar_per_gb\n"
                 "2023-12-01,2.0000,10.0000\n", "telecom")  # fmt: skip
    run_telecom(lake)
    quarter = gold(lake, "cdr_usage_summary_15min", "telecom").sort("bucket_start")
    assert [float(c) for c in quarter["total_cost_zar"]] == [10.0, 3.0, 1.0, 2.5]
    assert quarter["tariff_source"].to_list() == ["telecom/tariffs/2024.csv:2"] * 4


@pytest.mark.parametrize(
    ("tariff", "quarantined"),
    [
        ("2024-01-02,1.0000,49.0000", ""),
        ("2024-01-32,1.0000,49.0000", "; 1 tariff row(s) are in quarantine_telecom.tariffs"),
    ],
)
def test_days_without_a_tariff_stop_the_build_with_one_line_saying_where_to_put_one(
    lake: Lake, tariff: str, quarantined: str
) -> None:
    """A tariff from a later day, or only rows that did not load (no default then: bronze has a tariff)."""
    _crm(lake, tariff="valid_from,call_zar_per_minute,data_zar_per_gb\n" + tariff + "\n")
    _feeds(lake, USAGE, [])
    with pytest.raises(LakehouseError) as failed:
        run_telecom(lake, select=("+cdr_usage_summary_15min",))
    assert failed.value.manifest.gold["prepared_layers.cdr_usage_summary_15min"]["message"] == (
        "prepared_layers.cdr_usage_summary_15min failed to build: Invalid Input Error: no tariff in force on 1 "
        "day(s) with usage (2024-01-01): add a tariff valid from 2024-01-01 or earlier to bronze/telecom/tariffs/, "
        "a CSV file with the header valid_from,call_zar_per_minute,data_zar_per_gb" + quarantined
    )


def test_costs_and_wak_balances_by_hand(lake: Lake) -> None:
    _crm(lake)
    ticks = ["2024-01-01 10:00:00.000,MRVZAR,18.0000,18.0200,0.0200,2024-01-01 10:00:00",
             "2024-01-01 10:30:00.000,MRVZAR,18.1000,18.1200,0.0200,2024-01-01 10:30:00",
             "2024-01-01 10:00:00.000,WAKMRV,1.2000,1.2010,0.0010,2024-01-01 10:00:00"]  # fmt: skip
    write_bronze(lake, "forex_raw", "ticks.csv", FOREX_HEADER + "\n".join(ticks) + "\n", "telecom")
    _feeds(lake, USAGE, CALLS)
    run_telecom(lake)
    quarter = gold(lake, "cdr_usage_summary_15min", "telecom").sort("bucket_start")
    assert [str(t) for t in quarter["bucket_start"]] == [
        "2024-01-01 10:00:00",
        "2024-01-01 10:15:00",
        "2024-01-01 10:30:00",
        "2024-01-01 12:00:00",
    ]
    assert [float(c) for c in quarter["total_cost_zar"]] == [49.0, 1.5, 0.5, 12.25]
    assert quarter["voice_calls"].to_list() == [0, 1, 0, 0] and quarter["video_calls"].to_list() == [0, 0, 1, 0]
    assert quarter["down_bytes_text"].to_list() == [GIB // 2, 0, 0, GIB // 4]
    hourly = gold(lake, "crm_user_balance_hourly", "telecom").sort("datetime")
    assert hourly.select("account_id", "device_id", "city").rows() == [(1, 7, "Cape Town")] * 2
    mrvzar, wakmrv = (18.01 + 18.11) / 2, 1.2005
    ten, noon = hourly.row(0, named=True), hourly.row(1, named=True)
    assert float(ten["total_cost_zar"]) == 51.0
    assert ten["avg_mrvzar_rate"] == pytest.approx(mrvzar) and ten["avg_wakmrv_rate"] == pytest.approx(wakmrv)
    assert float(ten["total_cost_wak"]) == pytest.approx(51.0 / mrvzar / wakmrv, abs=1e-6)
    # no quotes at noon: the 10:00 rates carry forward
    assert noon["avg_mrvzar_rate"] == ten["avg_mrvzar_rate"]
    assert float(noon["total_cost_wak"]) == pytest.approx(12.25 / mrvzar / wakmrv, abs=1e-6)
    assert noon["accumulated_cost_wak"] == ten["total_cost_wak"] + noon["total_cost_wak"]
    assert math.isclose(float(noon["data_cost_zar"]), 12.25)
