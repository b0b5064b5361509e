"""Every module of the product imports: a module naming one that does not exist fails here, not in production."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

PACKAGES = ("domain", "application", "projections", "adapters", "api", "workers", "despacho")


def modules() -> list[str]:
    found = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        found.append(package)
        found += [m.name for m in pkgutil.walk_packages(root.__path__, prefix=f"{package}.")]
    return found


@pytest.mark.parametrize("module", modules())
def test_module_imports(module: str) -> None:
    importlib.import_module(module)
