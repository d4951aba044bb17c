"""Deferred outcomes: bank debits that settle, refunds that fail "some time later", and
Checkout Sessions that expire at their ``expires_at``.

The due time is stored on the object itself (``_sb.settle_at``), so a sandbox started again
on the same ``--db`` file picks up every pending settlement; a background thread settles each
when it is due. ``delay`` is ``--bank-settle-seconds`` (0: as soon as the request is done).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from .store import Scope, private

if TYPE_CHECKING:
    from .api import Ctx
    from .sandbox import Sandbox

log = logging.getLogger("stripe_sandbox")


class Settler:
    def __init__(self, sb: Sandbox, delay: float) -> None:
        self.sb = sb
        self.delay = max(0.0, delay)
        self.cond = threading.Condition()
        self.heap: list[tuple[float, str, Scope]] = []
        self.stopped = False
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        for scope, obj in self.sb.store.all_objects():
            due = private(obj).get("settle_at") if "_sb" in obj else None
            if due is not None:
                self.heap.append((float(due), obj["id"], scope))
        heapq.heapify(self.heap)
        self.thread = threading.Thread(target=self._run, name="sandbox-settler", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def schedule(self, ctx: Ctx, obj: dict[str, Any], due: float | None = None) -> None:
        """Settle ``obj`` at ``due`` or after the configured delay (stored with it, then saved)."""
        due = time.time() + self.delay if due is None else due
        data = private(obj)
        data["settle_at"] = due
        data["settle_base_url"] = ctx.base_url
        ctx.save(obj)
        with self.cond:
            heapq.heappush(self.heap, (due, obj["id"], ctx.scope))
            self.cond.notify_all()

    def pending(self, obj: dict[str, Any]) -> bool:
        return private(obj).get("settle_at") is not None

    def settle(self, ctx: Ctx, obj: dict[str, Any]) -> dict[str, Any]:
        """Settle ``obj`` now (raises Stripe's 400 when nothing is pending)."""
        from .resources.bank_debits import settle_pi
        from .resources.checkout import expire_if_due
        from .resources.refunds import fail_refund

        if obj.get("object") == "refund":
            return fail_refund(ctx, obj)
        if obj.get("object") == "checkout.session":
            private(obj).pop("settle_at", None)
            return expire_if_due(ctx, obj)
        return settle_pi(ctx, obj)

    def _run(self) -> None:
        from .api import Ctx

        while True:
            with self.cond:
                while not self.stopped and (not self.heap or self.heap[0][0] > time.time()):
                    timeout = self.heap[0][0] - time.time() if self.heap else None
                    self.cond.wait(timeout)
                if self.stopped:
                    return
                _, obj_id, scope = heapq.heappop(self.heap)
            with self.sb.store.lock:
                obj = self.sb.store.get(scope, obj_id)
                if obj is None or not self.pending(obj):
                    continue  # settled already (by the control)
                base = str(private(obj).get("settle_base_url") or "")
                ctx = Ctx(self.sb, scope, base, None)  # type: ignore[arg-type]
                try:
                    self.settle(ctx, obj)
                except Exception:
                    log.exception("sandbox settlement of %s failed", obj_id)
                    private(obj).pop("settle_at", None)
