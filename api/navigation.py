"""What each role sees in the top bar, as data.

Labels are Spanish msgids; templates translate them with `_()` when rendering, and the catalogue
completeness test reads them from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    icon: str


HOME = NavItem("Inicio", "/", "house")
MESSAGE_AUDIT = NavItem("Auditoría de mensajes", "/audit/messages", "message-square-text")
EVENTS = NavItem("Eventos", "/audit/events", "history")
AS_OF = NavItem("Estado en un instante", "/audit/as-of", "clock")
ATTENDANCE = NavItem("Asistencia", "/attendance", "clock")
RISK = NavItem("Riesgo de spam", "/risk", "circle-alert")
SEARCH = NavItem("Buscar chats", "/search", "history")
BROADCASTS = NavItem("Envíos proactivos", "/broadcasts", "send")

NAV_BY_ROLE: dict[str, tuple[NavItem, ...]] = {
    "admin": (
        HOME,
        NavItem("Campañas", "/admin/campaigns", "megaphone"),
        NavItem("Asesores", "/admin/agents", "users"),
        NavItem("Carteras", "/admin/portfolios", "database"),
        NavItem("Flujos", "/admin/flows", "workflow"),
        SEARCH,
        MESSAGE_AUDIT,
        EVENTS,
        AS_OF,
        ATTENDANCE,
        RISK,
        BROADCASTS,
    ),
    "supervisor": (
        HOME,
        NavItem("Chats en cola", "/supervisor/queue", "inbox"),
        NavItem("Asesores", "/supervisor/agents", "users"),
        NavItem("Alertas", "/alerts", "bell"),
        SEARCH,
        MESSAGE_AUDIT,
        ATTENDANCE,
        RISK,
        BROADCASTS,
    ),
    "agent": (NavItem("Mi escritorio", "/desk", "headset"), NavItem("Mi día", "/mi-dia", "chart-column"),
              NavItem("Alertas", "/alerts", "bell"), SEARCH),
    "auditor": (HOME, SEARCH, EVENTS, AS_OF, MESSAGE_AUDIT, ATTENDANCE, RISK, BROADCASTS),
}

ROLE_LABELS: dict[str, str] = {
    "admin": "Administrador",
    "supervisor": "Supervisor",
    "agent": "Asesor",
    "auditor": "Auditor",
}


def nav_for_role(role: str | None) -> tuple[NavItem, ...]:
    """The navigation of a role; nothing for anonymous visitors or an unknown role."""
    if role is None:
        return ()
    return NAV_BY_ROLE.get(role, ())


def role_label(role: str | None) -> str:
    """The Spanish msgid naming a role, or the role itself when it is not one we know."""
    if role is None:
        return ""
    return ROLE_LABELS.get(role, role)


def is_current(item_url: str, path: str) -> bool:
    """Whether a nav item should be highlighted for the page at `path` (sections match their subpages)."""
    if item_url == "/":
        return path == "/"
    return path == item_url or path.startswith(item_url.rstrip("/") + "/")
