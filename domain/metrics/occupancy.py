"""Occupancy: the share of an agent's available time in which they held at least one chat of the campaign.

Read from the attendance timeline (domain/attendance.py), so it counts only inside the agent's sessions while a
member of the campaign, like every attendance figure.
"""

from __future__ import annotations

from domain.attendance import Span, Timeline, connected_spans, intersect, total, union


def occupancy(timeline: Timeline, window: Span) -> float | None:
    """None when the agent was not available at all inside the window."""
    connected = connected_spans(timeline, window)
    available = intersect(union(p.span for p in timeline.presence if p.status == "available"), connected)
    busy = intersect(union(step.span for step in timeline.load if step.open_chats > 0), available)
    available_time = total(available)
    return round(total(busy) / available_time, 4) if available_time else None
