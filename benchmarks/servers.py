"""Child processes the benchmarks measure or lean on: the Stripe sandbox and ASGI apps served
by granian with one worker (the server Reflex uses in production), and their memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Poll ``url`` until it answers below 500; fail with the log's tail if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited early:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s:\n{log.read_text()[-4000:]}")


@contextmanager
def child(
    args: list[str], env: dict[str, str], log: Path, ready_url: str, timeout: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own session, stopped (TERM, then KILL) with its whole group."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_up(ready_url, proc, log, timeout)
        yield proc
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@dataclass(frozen=True)
class Served:
    url: str
    port: int
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the process and its descendants."""
        return sum(cpu_seconds(pid) for pid in process_tree(self.pid))


@contextmanager
def stripe_sandbox(work_dir: Path) -> Iterator[Served]:
    """``python -m stripe_sandbox serve`` in its own process (state in memory)."""
    port = free_port()
    args = [sys.executable, "-m", "stripe_sandbox", "serve", "--port", str(port)]
    args += ["--log-level", "warning"]
    url = f"http://127.0.0.1:{port}"
    with child(args, dict(os.environ), work_dir / "sandbox.log", f"{url}/_sandbox/webhooks") as p:
        yield Served(url, port, p.pid)


@contextmanager
def granian_app(
    target: str, env: dict[str, str], log: Path, *, port: int | None = None
) -> Iterator[Served]:
    """``target`` (an app factory, ``module:function``) under granian with one worker."""
    port = port or free_port()
    args = [
        str(Path(sys.executable).parent / "granian"),
        "--interface",
        "asgi",
        "--factory",
        "--workers",
        "1",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        target,
    ]
    url = f"http://127.0.0.1:{port}"
    with child(args, env, log, f"{url}/api/health") as proc:
        yield Served(url, port, proc.pid)


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += children.get(current, [])
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """VmRSS of one process in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def command_of(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
