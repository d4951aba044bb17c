"""A page with child routes is served at its own address, without the trailing-slash hop."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.testclient import TestClient

from nextoria_hub.api.page_paths import DirectoryPages, directory_pages


def _build(tmp_path: Path) -> Path:
    (tmp_path / "portal" / "profile").mkdir(parents=True)
    (tmp_path / "index.html").write_text("home")
    (tmp_path / "portal" / "index.html").write_text("portal page")
    (tmp_path / "portal.html").write_text("portal page")
    (tmp_path / "portal" / "profile" / "index.html").write_text("profile page")
    (tmp_path / "settings").mkdir()  # a folder without a page of its own
    (tmp_path / "settings" / "team.html").write_text("team page")
    return tmp_path


def test_directory_page_answers_at_its_own_address(tmp_path: Path) -> None:
    build = _build(tmp_path)
    assert directory_pages(build) == {"/portal", "/portal/profile"}
    files = Starlette(routes=[Mount("/", app=StaticFiles(directory=build, html=True))])
    plain = TestClient(files, follow_redirects=False)
    assert plain.get("/portal").status_code == 307  # what Starlette alone does

    client = TestClient(DirectoryPages(files, lambda: build), follow_redirects=False)
    for path, body in (("/portal", "portal page"), ("/portal/profile", "profile page")):
        answer = client.get(path)
        assert (answer.status_code, answer.text) == (200, body)
    assert client.get("/settings").status_code == 404  # no page there: untouched
    assert client.post("/portal").status_code == 405  # only GET and HEAD are rewritten
    assert client.get("/portal/").text == "portal page"
