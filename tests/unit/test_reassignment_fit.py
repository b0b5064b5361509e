"""What the reassign forms promise is what a reassignment does: `reassignment_fit` is routing's own check asked
both ways, so a member shown as taking the chat is one routing itself could assign it to."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.routing import AgentLoad, ReassignmentError, check_reassignment_target, reassignment_fit

CAMPAIGN = "banco_a"

loads = st.builds(AgentLoad, agent_id=st.just("a"), open_chats=st.integers(0, 6), capacity=st.integers(1, 5),
                  last_assigned_at=st.none(), campaigns=st.frozensets(st.sampled_from([CAMPAIGN, "telco_b"])),
                  available=st.booleans())


def goes_through(load: AgentLoad, *, to_unavailable: bool) -> bool:
    try:
        check_reassignment_target(load, CAMPAIGN, "Ana", to_unavailable=to_unavailable)
    except ReassignmentError:
        return False
    return True


@given(loads)
def test_the_fit_shown_is_what_the_reassignment_would_do(load: AgentLoad) -> None:
    fit = reassignment_fit(load, CAMPAIGN, "Ana")

    assert (fit.fit == "takes") == goes_through(load, to_unavailable=False)
    assert (fit.fit == "exception") == (goes_through(load, to_unavailable=True)
                                        and not goes_through(load, to_unavailable=False))
    assert (fit.fit == "refused") == (fit.refusal is not None)
    if fit.fit == "takes":
        assert load.can_take(CAMPAIGN), "routing itself could give them the chat"
