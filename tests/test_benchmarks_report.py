"""The benchmark report: ratios, whether a target is met, and the Markdown page."""

from __future__ import annotations

import math

import pytest

from benchmarks.report import Limit, Result, render


def _result(value: float, floor: float, target: str, **extra: str) -> Result:
    return Result(
        benchmark="Webhook ingest",
        backend="sqlite",
        figure="events applied per second",
        value=value,
        unit="events/s",
        floor_label="signature check + one insert",
        floor=floor,
        target=target,
        extra=extra,
    )


@pytest.mark.parametrize(
    ("value", "floor", "target", "met"),
    [
        (70, 100, ">= 0.7", True),
        (69, 100, ">= 0.7", False),
        (130, 100, "< 1.3", False),
        (129, 100, "< 1.3", True),
        (120, 100, "<= 1.2", True),
        (121, 100, "<= 1.2", False),
        (101, 100, "> 1.0", True),
    ],
)
def test_ratio_is_value_over_floor_and_met_follows_the_target(
    value: float, floor: float, target: str, met: bool
) -> None:
    result = _result(value, floor, target)
    assert result.ratio == pytest.approx(value / floor)
    assert result.met is met


def test_a_zero_floor_gives_no_ratio_and_no_pass() -> None:
    result = _result(5, 0, ">= 0.7")
    assert math.isnan(result.ratio)
    assert result.met is False


def test_render_writes_the_results_limits_details_and_methods() -> None:
    results = [
        _result(1234.5, 2000, ">= 0.7", app="p50 9 ms"),
        _result(10, 100, ">= 0.7"),
    ]
    limits = [Limit("One database commit (insert one row)", "postgresql", 0.0421, "ms", "median")]
    page = render(results, limits, {"Webhook ingest": "  How it is measured.  "}, "make bench")
    lines = page.splitlines()
    assert lines[0] == "# Performance"
    assert "Written by `make bench`" in page
    assert (
        "| Webhook ingest | sqlite | events applied per second | 1,234 events/s | "
        "signature check + one insert | 2,000 events/s | 0.62 | >= 0.7 | **no** |"
    ) in lines
    assert "| 10.0 events/s |" in lines[lines.index("## Results") + 5]
    assert "- **Webhook ingest** (sqlite): app: p50 9 ms" in lines
    assert "| One database commit (insert one row) | postgresql | 0.0421 ms | median |" in lines
    assert page.endswith("How it is measured.\n")
