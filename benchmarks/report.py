"""One benchmark result and the Markdown page they are written to."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class Result:
    """A measured figure beside its floor (or bound), with the ratio the target is set on.

    ``ratio`` is always ``value / floor``; ``target`` says which way is good:
    ``">= 0.7"`` for a throughput, ``"<= 1.2"`` for a time or a memory figure.
    """

    benchmark: str
    backend: str
    figure: str
    value: float
    unit: str
    floor_label: str
    floor: float
    target: str
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.value / self.floor if self.floor else float("nan")

    @property
    def met(self) -> bool:
        op, _, bound = self.target.partition(" ")
        limit = float(bound)
        return {
            ">=": self.ratio >= limit,
            "<=": self.ratio <= limit,
            "<": self.ratio < limit,
            ">": self.ratio > limit,
        }[op]


@dataclass(frozen=True)
class Limit:
    """A physical limit measured beside the benchmarks (no target): HMAC of one event, one commit."""

    name: str
    backend: str
    value: float
    unit: str
    note: str = ""


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def render(
    results: Sequence[Result], limits: Sequence[Limit], methods: dict[str, str], command: str
) -> str:
    """The whole ``docs/performance.md`` page."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Performance",
        "",
        f"Written by `{command}` on {now}; do not edit by hand.",
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}. Each floor is measured in the same run,",
        "on the same machine, so the ratio is what to compare between runs; the absolute",
        "figures move with the machine and what else it is doing.",
        "",
        "## Results",
        "",
        "| benchmark | database | figure | value | floor | floor value | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r.benchmark} | {r.backend} | {r.figure} | {_fmt(r.value)} {r.unit} | "
            f"{r.floor_label} | {_fmt(r.floor)} {r.unit} | {r.ratio:.2f} | {r.target} | "
            f"{'yes' if r.met else '**no**'} |"
        )
    extras = [r for r in results if r.extra]
    if extras:
        lines += ["", "### Details", ""]
        for r in extras:
            detail = ", ".join(f"{k}: {v}" for k, v in r.extra.items())
            lines.append(f"- **{r.benchmark}** ({r.backend}): {detail}")
    if limits:
        lines += [
            "",
            "## Physical limits",
            "",
            "| limit | database | value | note |",
            "| --- | --- | --- | --- |",
        ]
        for lim in limits:
            lines.append(
                f"| {lim.name} | {lim.backend} | {_fmt(lim.value)} {lim.unit} | {lim.note} |"
            )
    lines += ["", "## How each is measured", ""]
    for name, text in methods.items():
        lines += [f"### {name}", "", text.strip(), ""]
    return "\n".join(lines).rstrip() + "\n"
