"""Vendoring front-end assets from node_modules (no CDN at run time)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from despacho.assets import COPIED_FILES, ICONS, MissingFrontendPackagesError, static_fingerprint, vendor_assets

LUCIDE_ICON = """<!-- @license lucide-static - ISC -->
<svg class="lucide" xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24"
  fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
  <path d="M3 12h18" />
</svg>
"""


def fake_node_modules(project_root: Path) -> None:
    """The few files of the pinned npm packages that vendor_assets reads."""
    node_modules = project_root / "node_modules"
    for source, _ in COPIED_FILES:
        path = node_modules / source
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"contents of {source}")
    icons = node_modules / "lucide-static" / "icons"
    icons.mkdir(parents=True, exist_ok=True)
    for name in ICONS:
        (icons / f"{name}.svg").write_text(LUCIDE_ICON)


def test_tells_to_run_make_install_when_node_modules_is_missing(tmp_path: Path) -> None:
    with pytest.raises(MissingFrontendPackagesError, match="make install"):
        vendor_assets(tmp_path)


def test_copies_stylesheet_fonts_and_licenses_into_static_vendor(tmp_path: Path) -> None:
    fake_node_modules(tmp_path)

    vendor_assets(tmp_path)

    vendor = tmp_path / "api" / "static" / "vendor"
    assert (vendor / "pico.min.css").read_text() == "contents of @picocss/pico/css/pico.min.css"
    assert (vendor / "fonts" / "inter-latin-wght-normal.woff2").is_file()
    assert (vendor / "licenses" / "lucide.txt").is_file()


def test_bundles_every_icon_into_one_sprite_that_takes_the_text_colour(tmp_path: Path) -> None:
    fake_node_modules(tmp_path)

    vendor_assets(tmp_path)

    sprite = ET.fromstring((tmp_path / "api" / "static" / "vendor" / "icons.svg").read_text())  # noqa: S314
    symbols = sprite.findall("{http://www.w3.org/2000/svg}symbol")
    assert [symbol.get("id") for symbol in symbols] == list(ICONS)
    assert all(symbol.get("stroke") == "currentColor" for symbol in symbols)


def test_running_again_replaces_stale_vendor_files(tmp_path: Path) -> None:
    fake_node_modules(tmp_path)
    stale = tmp_path / "api" / "static" / "vendor" / "old-library.js"
    stale.parent.mkdir(parents=True)
    stale.write_text("outdated")

    vendor_assets(tmp_path)

    assert not stale.exists()
    assert (tmp_path / "api" / "static" / "vendor" / "pico.min.css").is_file()


def test_fingerprint_changes_when_a_static_file_changes(tmp_path: Path) -> None:
    (tmp_path / "app.css").write_text("body { color: black; }")
    before = static_fingerprint(tmp_path)

    (tmp_path / "app.css").write_text("body { color: navy; }")

    assert static_fingerprint(tmp_path) != before


def test_the_dashboards_chart_library_is_served_locally_with_its_licenses(tmp_path: Path) -> None:
    fake_node_modules(tmp_path)

    vendor_assets(tmp_path)

    vendor = tmp_path / "api" / "static" / "vendor"
    assert (vendor / "echarts.min.js").read_text() == "contents of echarts/dist/echarts.min.js"
    assert {"echarts.txt", "echarts-notice.txt", "zrender.txt"} <= {p.name for p in (vendor / "licenses").iterdir()}
