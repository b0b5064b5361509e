"""The flow as a graph of states, for the checker: reachability, endings and loops."""

from __future__ import annotations

from domain.flows.model import Branch, Flow, GoTo, IdentifyCustomer, targets_of


def unreachable_states(flow: Flow) -> list[str]:
    entries = [flow.start, *(shortcut.target for shortcut in flow.shortcuts)]
    seen = _reachable_from(flow, entries, _next_states(flow))
    return [name for name in flow.states if name not in seen]


def states_that_cannot_end(flow: Flow) -> list[str]:
    """States from which no hand-off or close can ever be reached, shortcuts aside."""
    previous: dict[str, list[str]] = {name: [] for name in flow.states}
    for name, targets in _next_states(flow).items():
        for target in targets:
            previous[target].append(name)
    finals = [name for name, state in flow.states.items() if state.is_final]
    can_end = _reachable_from(flow, finals, previous)
    return [name for name in flow.states if name not in can_end]


def automatic_loops(flow: Flow) -> list[list[str]]:
    """Cycles of states that move on by themselves, so a turn would never stop.

    Identification's "not found" way is left out: its attempts counter ends such a cycle.
    """
    moves = {name: _automatic_moves(flow, name) for name in flow.states}
    loops: list[list[str]] = []
    finished: set[str] = set()
    for origin in flow.states:
        path: list[str] = []
        _walk(origin, moves, path, finished, loops)
    return loops


def _walk(name: str, moves: dict[str, list[str]], path: list[str], finished: set[str],
          loops: list[list[str]]) -> None:
    if name in path:
        loops.append(path[path.index(name):])
        return
    if name in finished:
        return
    path.append(name)
    for target in moves.get(name, []):
        _walk(target, moves, path, finished, loops)
    path.pop()
    finished.add(name)


def _automatic_moves(flow: Flow, name: str) -> list[str]:
    step = flow.states[name].step
    if isinstance(step, IdentifyCustomer):
        targets = [step.found, step.several, step.attempts_exhausted]
    elif isinstance(step, GoTo | Branch):
        targets = [target for _, target in targets_of(step)]
    else:
        targets = []
    return [target for target in targets if target in flow.states]


def _next_states(flow: Flow) -> dict[str, list[str]]:
    return {name: [target for _, target in targets_of(state.step) if target in flow.states]
            for name, state in flow.states.items()}


def _reachable_from(flow: Flow, entries: list[str], edges: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    pending = [name for name in entries if name in flow.states]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(edges.get(name, []))
    return seen
