"""Collects every shape problem of a document instead of stopping at the first one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class FieldError(ValueError):
    """One value has the wrong shape; the message is Spanish and names the key."""


class DocumentReader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def complain(self, message: str, *, place: str = "", line: int | None = None) -> None:
        where = ", ".join(part for part in (self.source, f"línea {line}" if line else "", place) if part)
        self.problems.append(f"{where}: {message}" if where else message)

    def attempt(self, place: str, line: int | None, read: Callable[[], T], fallback: T) -> T:
        """Run `read`; on a shape problem note it with its place and carry on with `fallback`."""
        try:
            return read()
        except FieldError as exc:
            self.complain(str(exc), place=place, line=line)
            return fallback

    def mapping(self, data: Any, what: str, allowed: tuple[str, ...] | None, *,
                line: int | None) -> Mapping[Any, Any]:
        if not isinstance(data, Mapping):
            self.complain(f"{what} debe tener claves (como 'nombre: ...').", line=line)
            return {}
        for key in [key for key in data if allowed is not None and key not in allowed]:
            self.complain(f"'{key}' no es una clave del flujo; claves posibles: {', '.join(allowed or ())}.")
        return data

    def text(self, value: Any, key: str, *, required: bool = False, line: int | None = None) -> str:
        if value is None or value == "":
            if required:
                self.complain(f"falta {key}.")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.complain(f"{key} debe ser un texto.", line=line)
            return ""
        return str(value).strip()

    def integer(self, value: Any, key: str, *, required: bool = False, line: int | None = None) -> int:
        if value is None:
            if required:
                self.complain(f"falta {key}.")
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            self.complain(f"{key} debe ser un número entero, no «{value}».", line=line)
            return 0
        return value
