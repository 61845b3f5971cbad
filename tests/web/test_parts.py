"""The small parts: evidence and redaction pieces, suppression, weeks, SVG charts."""

from __future__ import annotations

from datetime import UTC, date, datetime

from models.counts import week_of
from web.charts import Point, bars, columns
from web.insights import csv_text, equity_by_area, figure
from web.text import Piece, Span, pieces


def test_evidence_is_highlighted_and_pii_replaced_even_where_they_overlap() -> None:
    text = "Ring 07700 900461 about the damp flat"
    evidence = [Span(28, 37, "housing"), Span(0, 17, "wants_say")]
    got = pieces(text, evidence, redact_pii=True)
    assert got == [
        Piece("Ring ", ("wants_say",)),
        Piece("[PHONE]", pii=True),
        Piece(" about the "),
        Piece("damp flat", ("housing",)),
    ]
    shown = pieces(text, evidence, redact_pii=False)
    assert "".join(p.text for p in shown) == text


def test_out_of_range_evidence_is_ignored() -> None:
    assert pieces("short", [Span(3, 99, "x")], redact_pii=False) == [Piece("short")]


def test_counts_from_fewer_than_five_residents_are_suppressed() -> None:
    assert figure("k", "K", 12, 4).messages is None
    assert figure("k", "K", 12, 4).residents is None
    assert figure("k", "K", 12, 5).messages == 12
    assert figure("k", "K", 0, 0).messages == 0  # nobody is not a small number
    assert csv_text(["a", "b"], [[None, 3]]).splitlines() == ["a,b", "<5,3"]


def test_equity_rates_against_populations() -> None:
    rows = equity_by_area(
        [figure("LS9", "LS9", 50, 20), figure("LS8", "LS8", 9, 3)], {"LS9": 10_000, "LS6": 5_000}
    )
    by_key = {row.key: row for row in rows}
    assert by_key["LS9"].per_thousand == 2.0 and by_key["LS9"].share_population == 66.7
    assert by_key["LS8"].residents is None and by_key["LS8"].per_thousand is None
    assert by_key["LS6"].residents == 0 and by_key["LS6"].per_thousand == 0.0


def test_weeks_start_on_monday_utc() -> None:
    assert week_of(datetime(2026, 11, 8, 23, 59, tzinfo=UTC)) == date(2026, 11, 2)
    assert week_of(datetime(2026, 11, 9, 0, 0, tzinfo=UTC)) == date(2026, 11, 9)


def test_charts_are_labelled_svg_and_say_when_a_value_is_suppressed() -> None:
    chart = str(bars("c1", "By <area>", [Point("LS9", 10), Point("LS8", None)]))
    assert chart.startswith('<svg id="c1" role="img" aria-labelledby="c1-t"')
    assert "By &lt;area&gt;" in chart and 'data-value="10"' in chart
    assert "fewer than 5 people" in chart
    weekly = str(columns("c2", "Weekly", [Point("02 Nov", 3), Point("09 Nov", 0)]))
    assert weekly.count("<rect") == 1
