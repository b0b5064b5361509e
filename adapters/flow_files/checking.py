"""Checking flow files: what `despacho flows check` prints and the admins' flows page shows.

Each file gives its flow (or none, when it cannot be read as one) and its problems, in Spanish,
pointing at file, line and state; two files holding the same version of a flow are a problem of
the set. `flows_in_use` groups the result by flow, with the campaigns that name each one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from adapters.flow_files import FlowCatalog, FlowFileError, flow_lines, label, parse_flow, read_text
from domain.flows import Flow, check_flow


@dataclass(frozen=True)
class CheckedFile:
    path: Path
    flow: Flow | None
    """None when the file cannot be read as a flow; its problems say why."""
    problems: tuple[str, ...]

    @property
    def label(self) -> str:
        return label(self.path)


@dataclass(frozen=True)
class FlowsCheck:
    files: tuple[CheckedFile, ...]
    set_problems: tuple[str, ...]
    """Problems of the files together: two files with the same version of a flow."""

    @property
    def problem_count(self) -> int:
        return sum(len(checked.problems) for checked in self.files) + len(self.set_problems)


@dataclass(frozen=True)
class CampaignUsing:
    name: str
    flow_name: str


@dataclass(frozen=True)
class FlowInUse:
    """One flow: its versions (oldest first; campaigns start new chats on the newest) and the campaigns naming it."""

    name: str
    versions: tuple[CheckedFile, ...]
    campaigns: tuple[str, ...]

    @property
    def description(self) -> str:
        return next((f.flow.description for f in reversed(self.versions) if f.flow and f.flow.description), "")

    @property
    def latest_version(self) -> int:
        return max(f.flow.version for f in self.versions if f.flow)


def check_file(path: Path) -> CheckedFile:
    try:
        text = read_text(path)
        flow = parse_flow(text, label(path))
    except FlowFileError as exc:
        return CheckedFile(path, None, tuple(exc.problems))
    lines = flow_lines(text)
    problems = []
    for problem in check_flow(flow):
        line = lines.of_state(problem.state)
        problems.append(f"{label(path)}{f':{line}' if line else ''}: {problem}")
    return CheckedFile(path, flow, tuple(problems))


def check_files(paths: Iterable[Path]) -> FlowsCheck:
    files = tuple(check_file(path) for path in paths)
    try:
        FlowCatalog([checked.flow for checked in files if checked.flow is not None and not checked.problems])
    except FlowFileError as exc:
        return FlowsCheck(files, tuple(exc.problems))
    return FlowsCheck(files, ())


def flows_in_use(check: FlowsCheck, campaigns: Sequence[CampaignUsing]) -> list[FlowInUse]:
    """Every flow read, by name, with its versions and the campaigns that name it."""
    names = sorted({checked.flow.name for checked in check.files if checked.flow is not None})
    return [FlowInUse(name,
                      tuple(sorted((f for f in check.files if f.flow is not None and f.flow.name == name),
                                   key=lambda f: f.flow.version if f.flow else 0)),
                      tuple(sorted(c.name for c in campaigns if c.flow_name == name)))
            for name in names]


def campaigns_without_flow(check: FlowsCheck, campaigns: Sequence[CampaignUsing]) -> list[CampaignUsing]:
    """Campaigns naming a flow no file holds: their chats get the default flow."""
    names = {checked.flow.name for checked in check.files if checked.flow is not None}
    return [c for c in campaigns if c.flow_name not in names]
