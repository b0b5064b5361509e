"""The metric registry: each metric defined once, dated by one instant, documented in docs/metrics.md."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from domain.metrics.docs import metrics_markdown
from domain.metrics.registry import BY_KEY, COUNTERS, DERIVED, METRICS, combine, counters_in, jain_index, values

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def test_docs_metrics_md_is_written_from_the_registry() -> None:
    assert DOC.read_text(encoding="utf-8") == metrics_markdown(), "run `despacho metrics docs`"


def test_every_metric_is_defined_once_with_both_names() -> None:
    keys = [m.key for m in METRICS] + [d.key for d in DERIVED]
    assert len(keys) == len(set(keys))
    assert all(m.name_es and m.name_en and m.formula_es and m.formula_code for m in METRICS)


def test_a_metric_never_mixes_counters_dated_by_different_instants() -> None:
    dated = {c.key: c.dated_by for c in COUNTERS}
    for metric in METRICS:
        assert {dated[name] for name in counters_in(metric.formula_code)} == {metric.dated_by}, metric.key


def test_ratios_and_averages_read_none_when_there_is_nothing_to_divide_by() -> None:
    empty = combine([], "agent")
    assert values("agent", empty)["first_response_time"] is None
    assert BY_KEY["chats_assigned"].value(empty) == 0


def test_the_longest_wait_of_several_buckets_is_their_maximum_not_their_sum() -> None:
    combined = combine([{"wait_max": 30.0, "queue_entries": 1}, {"wait_max": 50.0, "queue_entries": 2}], "campaign")
    assert (combined["wait_max"], combined["queue_entries"]) == (50.0, 3)


def test_jains_index_is_one_for_an_even_load_and_one_over_n_when_one_agent_takes_all() -> None:
    assert (jain_index([4, 4, 4]), jain_index([6, 0, 0]), jain_index([])) == (1.0, round(1 / 3, 4), None)


def test_the_english_catalogue_names_each_metric_as_the_registry_does() -> None:
    catalogue = DOC.parents[1] / "api" / "locale" / "en" / "LC_MESSAGES" / "messages.po"
    with catalogue.open("rb") as po_file:
        english = {m.id: m.string for m in read_po(po_file, locale="en") if m.id}
    assert {m.key: english.get(m.name_es) for m in METRICS} == {m.key: m.name_en for m in METRICS}
