"""Copies the pinned front-end packages from node_modules into api/static/vendor.

Call centers run on restricted networks, so pages never load anything from a CDN: `make install`
runs `npm ci` (versions pinned in package-lock.json) and then `python -m despacho.assets`.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
VENDOR_DIR = Path("api") / "static" / "vendor"
PAINT_ATTRIBUTES = ("fill", "stroke", "stroke-width", "stroke-linecap", "stroke-linejoin")

# (file inside node_modules, destination inside api/static/vendor)
COPIED_FILES = (
    ("@picocss/pico/css/pico.min.css", "pico.min.css"),
    ("@fontsource-variable/inter/files/inter-latin-wght-normal.woff2", "fonts/inter-latin-wght-normal.woff2"),
    (
        "@fontsource-variable/inter/files/inter-latin-ext-wght-normal.woff2",
        "fonts/inter-latin-ext-wght-normal.woff2",
    ),
    ("@picocss/pico/LICENSE.md", "licenses/pico.md"),
    ("@fontsource-variable/inter/LICENSE", "licenses/inter.txt"),
    ("lucide-static/LICENSE", "licenses/lucide.txt"),
    # The dashboards' charts; the minified build bundles zrender, its renderer (BSD-3-Clause).
    ("echarts/dist/echarts.min.js", "echarts.min.js"),
    ("echarts/LICENSE", "licenses/echarts.txt"),
    ("echarts/NOTICE", "licenses/echarts-notice.txt"),
    ("echarts/licenses/LICENSE-d3", "licenses/echarts-d3.txt"),
    ("zrender/LICENSE", "licenses/zrender.txt"),
)

# Lucide icons the pages use (navigation, flashes, empty states, chrome), bundled into icons.svg.
ICONS = (
    "arrow-left",
    "bell",
    "chart-column",
    "chevron-down",
    "chevron-left",
    "chevron-right",
    "circle-alert",
    "circle-check",
    "clock",
    "database",
    "file-spreadsheet",
    "headset",
    "history",
    "house",
    "inbox",
    "info",
    "lock",
    "log-in",
    "log-out",
    "megaphone",
    "message-square-text",
    "messages-square",
    "paperclip",
    "refresh-cw",
    "search-x",
    "send",
    "server-crash",
    "settings",
    "shield-alert",
    "triangle-alert",
    "user-round",
    "users",
    "wifi-off",
    "workflow",
    "x",
)


class MissingFrontendPackagesError(RuntimeError):
    """node_modules lacks a package the pages need."""


def vendor_assets(project_root: Path) -> None:
    """Rebuild api/static/vendor from node_modules (pico, the Inter font, an icon sprite, licenses)."""
    node_modules = project_root / "node_modules"
    _check_installed(node_modules)
    vendor_dir = project_root / VENDOR_DIR
    vendor_dir.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and swap, so a failed run never leaves half a vendor folder.
    with tempfile.TemporaryDirectory(dir=vendor_dir.parent, prefix=".vendor-") as staging:
        staging_dir = Path(staging) / "vendor"
        _copy_files(node_modules, staging_dir)
        (staging_dir / "icons.svg").write_text(icon_sprite(node_modules / "lucide-static" / "icons", ICONS))
        shutil.rmtree(vendor_dir, ignore_errors=True)
        staging_dir.rename(vendor_dir)


def icon_sprite(icons_dir: Path, names: tuple[str, ...]) -> str:
    """One SVG of <symbol id="NAME"> elements, used from templates as <use href="icons.svg#NAME">."""
    ET.register_namespace("", SVG_NAMESPACE)
    sprite = ET.Element(f"{{{SVG_NAMESPACE}}}svg")
    for name in names:
        source = ET.parse(icons_dir / f"{name}.svg").getroot()  # noqa: S314 - trusted, pinned package files
        # Lucide draws with strokes; keeping them on the symbol lets the icon take the text colour.
        paint = {key: value for key, value in source.attrib.items() if key in PAINT_ATTRIBUTES}
        symbol = ET.SubElement(
            sprite, f"{{{SVG_NAMESPACE}}}symbol", {"id": name, "viewBox": source.get("viewBox", "0 0 24 24"), **paint}
        )
        symbol.extend(list(source))
    return ET.tostring(sprite, encoding="unicode") + "\n"


def static_fingerprint(static_dir: Path) -> str:
    """A short hash of every static file, to pass as `Pages(asset_version=...)` so caches refresh on deploy."""
    digest = hashlib.sha256()
    for path in sorted(p for p in static_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(static_dir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _check_installed(node_modules: Path) -> None:
    required = [source for source, _ in COPIED_FILES] + [f"lucide-static/icons/{name}.svg" for name in ICONS]
    missing = [path for path in required if not (node_modules / path).is_file()]
    if missing:
        raise MissingFrontendPackagesError(
            f"Front-end packages are missing from {node_modules} (first missing: {missing[0]}). "
            "Run `make install` (it runs `npm ci` and then `python -m despacho.assets`)."
        )


def _copy_files(node_modules: Path, destination: Path) -> None:
    for source, target in COPIED_FILES:
        target_path = destination / target
        target_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(node_modules / source, target_path)


def main(argv: list[str]) -> int:
    project_root = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent
    try:
        vendor_assets(project_root)
    except MissingFrontendPackagesError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"Front-end assets copied into {project_root / VENDOR_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
