"""The invoice timeline: oldest first, Stripe ids in its detail text shown short with copy."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import reflex as rx

from nextoria_hub.ui.components.ids import stripe_id

# The prefixes of the Stripe objects a timeline names (payments, charges, Checkout Sessions,
# refunds, disputes, mandates, …); the tail is base62, long enough not to be a word.
STRIPE_ID = re.compile(
    r"\b(?:cs_(?:test|live)_|(?:pi|ch|re|pyr|py|pm|dp|du|seti|cus|in|txn|evt|mandate|src|sub)_)"
    r"[A-Za-z0-9]{8,}\b"
)


@dataclass
class DetailPart:
    """A run of plain text, or one Stripe id (then ``text`` is empty)."""

    text: str = ""
    stripe_id: str = ""


@dataclass
class TimelineEntry:
    at: str = ""
    kind: str = ""
    parts: list[DetailPart] = field(default_factory=list)


def split_stripe_ids(detail: str) -> list[DetailPart]:
    """The detail text cut around the Stripe ids it names, in order."""
    parts: list[DetailPart] = []
    end = 0
    for match in STRIPE_ID.finditer(detail):
        if match.start() > end:
            parts.append(DetailPart(text=detail[end : match.start()]))
        parts.append(DetailPart(stripe_id=match.group(0)))
        end = match.end()
    if end < len(detail):
        parts.append(DetailPart(text=detail[end:]))
    return parts


def _part(part: rx.Var) -> rx.Component:
    return rx.cond(
        part.stripe_id != "",
        rx.box(stripe_id(part.stripe_id), display="inline-flex", vertical_align="middle"),
        rx.text(part.text, as_="span"),
    )


def timeline(items: rx.Var[list[TimelineEntry]]) -> rx.Component:
    """One row per entry; long words wrap, ids stay short (whole on hover, copied whole)."""
    return rx.vstack(
        rx.foreach(
            items,
            lambda a: rx.hstack(
                rx.box(
                    width="8px",
                    height="8px",
                    border_radius="50%",
                    background="var(--accent-9)",
                    margin_top="7px",
                    flex_shrink="0",
                ),
                rx.vstack(
                    rx.hstack(
                        rx.text(a.kind, weight="medium", size="2", text_transform="capitalize"),
                        rx.text(a.at, size="1", color="var(--gray-10)"),
                        spacing="2",
                        align="baseline",
                    ),
                    rx.cond(
                        a.parts.length() > 0,
                        # A div, not a paragraph: the id's copy button is a block inside it.
                        rx.box(
                            rx.foreach(a.parts, _part),
                            font_size="var(--font-size-2)",
                            line_height="var(--line-height-2)",
                            color="var(--gray-11)",
                            overflow_wrap="anywhere",
                            class_name="timeline-detail",
                        ),
                    ),
                    spacing="0",
                    min_width="0",
                ),
                align="start",
                spacing="3",
                width="100%",
            ),
        ),
        spacing="3",
        class_name="timeline",
        width="100%",
    )
