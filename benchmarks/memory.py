"""Backend resident memory after serving 1,000 workspaces once each, against after one.

**Seed**: 1,000 workspaces (``quick``: 50), each with its admin, bulk-inserted into the
benchmark's database (the same rows ``create_workspace`` writes; one password hash shared).

**Server**: the real app, ``reflex run --env prod --single-port`` on a free port with
``NEXTORIA_SCHEDULER=off``, as the end-to-end tests run it: granian serves the backend
(one worker) and the built frontend on that one port.

**Serving a workspace** is what a browser does: Chromium (Playwright, Debian's
``chromium``) opens ``http://<slug>.localhost:PORT/login``, loads the page, connects the
websocket and runs the hydrate and ``on_load`` events; the page counts as served when it
shows the workspace's name, which only the backend can know (host → workspace). Each page
gets a new Reflex client token (another origin starts with empty session storage), so new
per-client state on the backend; six tabs browse at a time, images and fonts skipped.

**Measure**: the sum of ``VmRSS`` (``/proc/<pid>/status``) over the server's process tree
(the ``reflex run`` launcher, granian's main process and its worker; the list is in the
details), after the first workspace and after all of them, each time after 5 s of quiet.
No garbage collection is forced. The ratio is after-all / after-one; the target is < 1.3.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.context import BenchContext
from benchmarks.report import Result
from benchmarks.servers import child, command_of, free_port, process_tree, rss_kib

if TYPE_CHECKING:
    from playwright.async_api import Page

NAME = "Memory"
IN_FLIGHT = 6
SETTLE_SECONDS = 5.0
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SKIPPED = re.compile(r"\.(png|jpe?g|gif|svg|ico|webp|woff2?|ttf|otf)(\?.*)?$")


def run(ctx: BenchContext) -> list[Result]:
    count = 50 if ctx.quick else 1000
    ctx.configure_here()
    workspaces = _seed(count)
    port = free_port()
    args = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--single-port"]
    args += ["--frontend-port", str(port), "--backend-port", str(port), "--loglevel", "info"]
    env = ctx.env(NEXTORIA_PUBLIC_PORT=str(port))
    log = ctx.work_dir / "reflex-run.log"
    with child(args, env, log, f"http://127.0.0.1:{port}/api/health", timeout=600) as proc:
        started = time.perf_counter()
        rss_one, rss_all, processes = asyncio.run(_serve_all(proc.pid, port, workspaces))
        served_in = time.perf_counter() - started
    return [
        Result(
            benchmark=NAME,
            backend=ctx.backend,
            figure=f"backend RSS after {count:,} workspaces",
            value=rss_all / 1024,
            unit="MiB",
            floor_label="after 1 workspace",
            floor=rss_one / 1024,
            target="< 1.3",
            extra={
                "processes": processes,
                "served": f"{count:,} login pages in Chromium in {served_in:.0f} s "
                f"({IN_FLIGHT} tabs at a time)",
                "growth": f"{(rss_all - rss_one) / max(1, count - 1):.1f} KiB per workspace",
            },
        )
    ]


def _seed(count: int) -> list[tuple[str, str]]:
    """``count`` workspaces with an admin each, inserted in bulk; (slug, name) pairs."""
    from nextoria_hub.accounts.passwords import hash_password
    from nextoria_hub.db import session_scope
    from nextoria_hub.models import Role, User, Workspace

    password_hash = hash_password("a-strong-passphrase-42")
    pairs = [(f"mem{i:04d}", f"Memory Agency {i:04d}") for i in range(count)]
    with session_scope() as db:
        rows = [Workspace(slug=slug, name=name) for slug, name in pairs]
        db.add_all(rows)
        db.flush()
        db.add_all(
            User(
                workspace_id=ws.id,  # type: ignore[arg-type]
                email=f"admin@{ws.slug}.test",
                name=f"{ws.name} Admin",
                role=Role.admin,
                password_hash=password_hash,
            )
            for ws in rows
        )
    return pairs


def _tree_rss(root_pid: int) -> tuple[int, str]:
    """Summed VmRSS (KiB) of the server's processes, and which they were."""
    pids = process_tree(root_pid)
    parts = []
    total = 0
    for pid in pids:
        rss = rss_kib(pid)
        total += rss
        command = command_of(pid)
        parts.append(f"{Path(command.split(' ', 1)[0]).name or pid} {rss / 1024:.0f} MiB")
    return total, "; ".join(parts)


async def _serve_all(
    root_pid: int, port: int, workspaces: list[tuple[str, str]]
) -> tuple[int, int, str]:
    from playwright.async_api import Route, async_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise RuntimeError("the memory benchmark needs Debian's chromium on PATH")

    async def skip(route: Route) -> None:
        await route.abort()

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        context = await browser.new_context()
        # Pictures and fonts change nothing on the backend; skipping them spares the CPU.
        await context.route(SKIPPED, skip)
        try:
            tabs: list[Page] = [await context.new_page() for _ in range(IN_FLIGHT)]
            await _serve(tabs[0], port, workspaces[0])
            await asyncio.sleep(SETTLE_SECONDS)
            rss_one, _ = _tree_rss(root_pid)
            todo = iter(workspaces[1:])
            served = [1]

            async def browse(tab: Page) -> None:
                for workspace in todo:
                    await _serve(tab, port, workspace)
                    served[0] += 1
                    if served[0] % 100 == 0:
                        rss, _ = _tree_rss(root_pid)
                        print(f"    {served[0]} served, {rss / 1024:.0f} MiB", flush=True)

            await asyncio.gather(*(browse(tab) for tab in tabs))
            for tab in tabs:  # leave no page connected while measuring
                await tab.goto("about:blank")
            await asyncio.sleep(SETTLE_SECONDS)
            rss_all, processes = _tree_rss(root_pid)
        finally:
            await context.close()
            await browser.close()
    return rss_one, rss_all, processes


async def _serve(tab: Page, port: int, workspace: tuple[str, str]) -> None:
    """Open the workspace's sign-in page in ``tab`` until it shows the workspace's name.

    Another origin in the same tab starts with empty session storage, so Reflex gives it a
    new client token, exactly like a new visitor.
    """
    slug, name = workspace
    await tab.goto(f"http://{slug}.localhost:{port}/login", wait_until="domcontentloaded")
    await tab.get_by_text(name, exact=True).wait_for(timeout=120_000)
