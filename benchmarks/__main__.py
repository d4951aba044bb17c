"""``python -m benchmarks``: run every benchmark on SQLite and PostgreSQL, write docs/performance.md.

Each benchmark is a module here with ``NAME``, a docstring that says how it measures,
and ``run(ctx) -> list[Result | Limit]``. They run one after another on a fresh,
migrated database per backend, so one cannot warm or slow another.
"""

from __future__ import annotations

import importlib
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from benchmarks.context import BACKENDS, BenchContext, fresh_database
from benchmarks.report import Limit, Result, render

# Order matters only for reading the page: the physical limits first, then the four targets.
MODULES = ("physical", "webhook_ingest", "autopay_run", "client_portal", "memory", "event_loop")
ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "performance.md"

console = Console()
app = typer.Typer(add_completion=False)


@app.command()
def main(
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run just these benchmarks (repeatable).")
    ] = None,
    backend: Annotated[
        list[str] | None,
        typer.Option("--backend", help="sqlite and/or postgresql (repeatable); default both."),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Small sizes, to check the benchmarks still run.")
    ] = False,
    output: Annotated[Path, typer.Option(help="Where the Markdown table goes.")] = OUTPUT,
) -> None:
    names = only or list(MODULES)
    unknown = sorted(set(names) - set(MODULES))
    if unknown:
        raise typer.BadParameter(f"unknown benchmark(s): {', '.join(unknown)}")
    backends = backend or list(BACKENDS)
    results: list[Result] = []
    limits: list[Limit] = []
    methods: dict[str, str] = {}
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        methods[module.NAME] = module.__doc__ or ""
        for db in backends:
            with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
                work = Path(tmp)
                with fresh_database(db, work) as url:
                    ctx = BenchContext(backend=db, database_url=url, work_dir=work, quick=quick)
                    started = time.perf_counter()
                    console.print(f"[bold]{module.NAME}[/] on {db}…")
                    for item in module.run(ctx):
                        (results if isinstance(item, Result) else limits).append(item)
                        console.print(f"  {_line(item)}")
                    console.print(f"  done in {time.perf_counter() - started:.1f} s")
    command = "make bench" + (" (quick)" if quick else "")
    output.write_text(render(results, limits, methods, command))
    console.print(f"Wrote {output}")


def _line(item: Result | Limit) -> str:
    if isinstance(item, Limit):
        return f"{item.name}: {item.value:.4g} {item.unit}"
    mark = "met" if item.met else "NOT met"
    return (
        f"{item.figure}: {item.value:.4g} {item.unit} vs {item.floor_label} "
        f"{item.floor:.4g} → ratio {item.ratio:.2f} (target {item.target}, {mark})"
    )


if __name__ == "__main__":
    app()
