"""A row keyed by its event keeps the key it had when `event_key` was `uuid5` (rebuilds compare them)."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import NAMESPACE_OID, UUID, uuid5

from hypothesis import given
from hypothesis import strategies as st

from projections.sql import event_key


@given(originator_id=st.uuids(), version=st.integers(1, 10**9))
def test_an_event_key_is_the_uuid5_of_its_aggregate_and_version(originator_id: UUID, version: int) -> None:
    event = SimpleNamespace(originator_id=originator_id, originator_version=version)

    assert event_key(event) == str(uuid5(NAMESPACE_OID, f"{originator_id}:{version}"))
