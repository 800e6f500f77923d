"""The web COP's Files tab in Debian chromium: upload with the marking picker, list, delete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ROOT, ServerProcess, add_user, create_token
from tests.web.browser import Cop, screenshot, skip_without_browser
from tests.web.conftest import browser, open_page  # noqa: F401 - the web tests' fixtures

skip_without_browser()
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def cop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cop]:
    data = tmp_path_factory.mktemp("files-cop") / "data"
    add_user(data, "HAWK", "USA", "SECRET")
    add_user(data, "SAKURA", "JPN", "SECRET")
    # With a structure loaded, as the page expects (the readiness panel asks for its roll-ups).
    server = ServerProcess(data, "--scenario", str(ROOT / "scenarios" / "trilateral-hadr.yaml"))
    server.start(timeout=180)
    try:
        yield Cop(server, {c: create_token(data, c) for c in ("HAWK", "SAKURA")})
    finally:
        server.stop()


def test_upload_list_and_delete_a_marked_file(open_page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    notes = tmp_path / "exercise-notes.txt"
    notes.write_text("synthetic exercise notes\n")
    tab = open_page("HAWK")
    page = tab.page
    page.get_by_test_id("tab-packages").click()
    picker = page.get_by_test_id("package-marking")
    expect(picker.locator("option")).not_to_have_count(0, timeout=15000)
    # The picker offers only what HAWK (USA SECRET) may originate: nothing above SECRET.
    offered = picker.locator("option").all_inner_texts()
    assert offered and not any(o.startswith("TOP SECRET") for o in offered)
    picker.select_option("SECRET//NOFORN")
    page.get_by_test_id("package-file").set_input_files(str(notes))
    page.get_by_test_id("package-upload").click()
    row = page.locator(".package").filter(has_text="exercise-notes.txt")
    expect(row).to_have_count(1, timeout=15000)
    expect(row.locator(".portion")).to_have_text("(S//NF)")
    # The page banner is the server's roll-up of the map and the panel: the file counts.
    expect(page.get_by_test_id("banner-top")).to_have_text("SECRET//NOFORN", timeout=15000)
    expect(page.get_by_test_id("connection-package")).to_be_hidden()  # HAWK is no admin
    screenshot(page, "files-tab")
    # A JPN user's Files tab does not list the NOFORN file.
    jpn = open_page("SAKURA").page
    jpn.get_by_test_id("tab-packages").click()
    expect(jpn.get_by_test_id("packages-list")).to_contain_text("No files", timeout=15000)
    row.get_by_test_id("package-delete").click()
    expect(row).to_have_count(0, timeout=15000)
    assert not tab.errors, tab.errors
