"""The summary `despacho simulate month` prints: what the simulated people did and what the read tables hold."""

from __future__ import annotations

from typing import Any


def summary_lines(summary: dict[str, Any]) -> list[str]:
    plan, chats = summary["plan"], summary["chats"]
    lines = [f"Simulated {plan['days']} day(s) from {plan['start']}, seed {plan['seed']}: "
             f"{len(plan['campaigns'])} campaigns, {plan['agents']} agents, {plan['customers_per_day']} customers "
             "a weekday",
             f"chats: {chats['total']} (identified {chats['identified']}, bot drop-outs {chats['bot_drop_outs']}, "
             f"unattended closes {chats['unattended']})",
             f"messages: {summary['inbound_messages']} from customers, "
             f"{sum(summary['outbound_by_status'].values())} sent ({_pairs(summary['outbound_by_status'])})",
             f"chats by status: {_pairs(chats['by_status'])}",
             f"closes by reason: {_pairs(chats['closes_by_reason'])}",
             f"dispositions: {_pairs(chats['dispositions'])}",
             f"assignments by kind: {_pairs(summary['assignments_by_kind'])}",
             "per campaign:"]
    for code, figures in summary["per_campaign"].items():
        lines.append(f"  {code:<18} chats {figures['chats']:>5}  closes: {_pairs(figures['closes_by_reason'])}")
    lines.append(f"simulated: {_pairs(summary['simulated'])}")
    lines.append(f"jobs failed: {summary['jobs_failed']}")
    return lines


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items()) or "none"
