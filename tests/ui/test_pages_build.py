"""Every page's component tree builds (Var type errors surface here, without a browser)."""

from __future__ import annotations

import pytest
import reflex as rx

from nextoria_hub.app import _PAGES


@pytest.mark.parametrize(
    ("route", "component"), [(p[0], p[1]) for p in _PAGES], ids=[p[0] for p in _PAGES]
)
def test_page_builds(route: str, component) -> None:  # type: ignore[no-untyped-def]
    tree = component()
    assert isinstance(tree, rx.Component), route
    assert tree.render(), route
