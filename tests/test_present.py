"""Presentation: headings, rounding and chart details a finance reader sees (no UI framework needed)."""

import polars as pl

from dashboard.present import charts
from dashboard.present.exports import to_csv
from dashboard.present.labels import bucket_label, column, for_export, label


def test_export_headings_are_words_and_money_has_cents_not_float_noise():
    df = pl.DataFrame(
        {"customer_id": ["C1"], "open_orders": [1579081.4700000002], "utilization": [0.123456], "credit_limit": [None]},
        schema_overrides={"credit_limit": pl.Float64},
    )
    out = for_export(df, "EUR")
    assert out.columns == ["Customer", "Open orders (EUR)", "Limit used", "Credit limit (EUR)"]
    assert out.row(0) == ("C1", 1579081.47, 0.1235, None)
    text = to_csv(df, "EUR").decode()
    assert text.splitlines() == ["Customer,Open orders (EUR),Limit used,Credit limit (EUR)", "C1,1579081.47,0.1235,"]


def test_a_column_missing_from_the_registry_still_reads_as_words():
    assert column("days_to_settle_median").label == "Days to settle median"
    assert label("ar", "USD") == "AR (USD)"


def test_bucket_names_as_a_reader_says_them():
    assert [bucket_label(n) for n in ["not_due", "1_30", "31_60", "181_plus"]] == ["Not due", "1-30", "31-60", "181+"]


def test_heatmap_of_nothing_has_a_scale_from_zero():
    pivot = pl.DataFrame({"segment": ["SMB", "Retail"], "A": [0.0, 0.0], "B": [0.0, 0.0]})
    trace = charts.exposure_heatmap(pivot, "USD").data[0]
    assert (trace.zmin, trace.zmax) == (0.0, 1.0)


def test_top_overdue_tooltips_never_say_null():
    top = pl.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "name": [None, "Beta", "Gamma"],
            "segment": ["SMB", None, "SMB"],
            "region": ["EU", "EU", "EU"],
            "ar": [10.0, 20.0, 30.0],
            "ar_overdue": [5.0, 6.0, 7.0],
            "exposure": [10.0, 20.0, 30.0],
            "credit_limit": [None, 0.0, 40.0],
            "utilization": [None, None, 0.75],
        }
    )
    spec = charts.top_overdue(top, "USD").to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert [r["limit_used"] for r in rows] == ["no limit", "limit 0", "75.0%"]  # one decimal, as the tables write a share
    assert all(v is not None for r in rows for k, v in r.items() if k in ("name", "segment", "limit_used"))
    assert "m'" in spec["encoding"]["x"]["axis"]["labelExpr"]  # money axis in k/m/bn like the tiles
