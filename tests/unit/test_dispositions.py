"""Dispositions are a stable code plus the Spanish label people read; old campaigns (bare codes) stay readable and
editing a campaign never changes the codes already recorded on closed chats."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.campaigns import CampaignSettings
from domain.dispositions import (
    DEFAULT_DISPOSITIONS,
    Disposition,
    DispositionError,
    check_dispositions,
    code_for,
    disposition_label,
    typed_dispositions,
)


def test_the_default_dispositions_are_written_in_proper_spanish() -> None:
    assert [d.label for d in DEFAULT_DISPOSITIONS] == [
        "Acuerdo de pago", "Promesa de pago", "No interesado", "Información entregada", "Número equivocado"]
    assert [d.code for d in DEFAULT_DISPOSITIONS] == [
        "acuerdo_de_pago", "promesa_de_pago", "no_interesado", "informacion_entregada", "numero_equivocado"]


def test_a_campaign_saved_with_bare_codes_reads_them_with_their_labels() -> None:
    settings = CampaignSettings.from_dict({"dispositions": ["informacion_entregada", "pago_total", "Reclamación"]})

    assert settings.dispositions == (Disposition("informacion_entregada", "Información entregada"),
                                     Disposition("pago_total", "Pago total"),
                                     Disposition("Reclamación", "Reclamación"))


def test_settings_round_trip_through_events_as_code_and_label() -> None:
    settings = CampaignSettings()

    stored = settings.to_dict()["dispositions"]

    assert stored[3] == {"code": "informacion_entregada", "label": "Información entregada", "effective": False}
    assert stored[0] == {"code": "acuerdo_de_pago", "label": "Acuerdo de pago", "effective": True}
    assert CampaignSettings.from_dict(settings.to_dict()) == settings


def test_a_typed_label_gets_a_code_and_a_typed_code_its_label() -> None:
    typed = typed_dispositions(["Pago total", "  Cliente   no   contesta ", "numero_equivocado", "", "No pagó"])

    assert typed == (Disposition("pago_total", "Pago total"), Disposition("cliente_no_contesta", "Cliente no contesta"),
                     Disposition("numero_equivocado", "Número equivocado"), Disposition("no_pago", "No pagó"))


def test_retyping_a_label_keeps_the_code_the_campaign_already_counts() -> None:
    existing = (Disposition("Pago Total", "Pago Total"), Disposition("pp", "Promesa de pago"))

    typed = typed_dispositions(["Pago Total", "promesa de pago", "Acuerdo"], existing)

    assert [d.code for d in typed] == ["Pago Total", "pp", "acuerdo"]
    assert typed[1].label == "promesa de pago", "the admin may fix how a label is written"


def test_two_labels_for_the_same_code_are_refused() -> None:
    with pytest.raises(DispositionError, match="repetida"):
        check_dispositions(typed_dispositions(["Número equivocado", "numero equivocado"]))
    with pytest.raises(DispositionError, match="letras o números"):
        check_dispositions(typed_dispositions(["¿?"]))
    with pytest.raises(DispositionError, match="al menos una"):
        check_dispositions(())


def test_a_closed_chats_code_is_named_even_if_the_campaign_dropped_it() -> None:
    campaign = (Disposition("pago_total", "Pago total del saldo"),)

    assert disposition_label("pago_total", campaign) == "Pago total del saldo"
    assert disposition_label("numero_equivocado", campaign) == "Número equivocado"
    assert disposition_label("cliente_molesto", campaign) == "Cliente molesto"


labels = st.text(alphabet=st.sampled_from("abcdefghijklmnñopqrstuvwxyzáéíóúü ABCÑÉ0123456789-"), min_size=1,
                 max_size=40).filter(lambda text: code_for(text) != "")


@given(st.lists(labels, min_size=1, max_size=8, unique_by=code_for))
def test_saving_the_form_as_shown_never_changes_a_code(written: list[str]) -> None:
    campaign = typed_dispositions(written)

    saved_again = typed_dispositions([d.label for d in campaign], campaign)

    assert saved_again == campaign
    check_dispositions(saved_again)


@given(st.lists(st.tuples(labels, st.booleans()), min_size=1, max_size=8, unique_by=lambda typed: code_for(typed[0])))
def test_saving_the_form_as_shown_keeps_which_dispositions_are_effective(written: list[tuple[str, bool]]) -> None:
    campaign = typed_dispositions([f"{label} *" if effective else label for label, effective in written])

    saved_again = typed_dispositions([d.as_typed() for d in campaign], campaign)

    assert saved_again == campaign
    assert [d.effective for d in campaign] == [effective for _, effective in written]


def test_by_default_only_agreeing_or_promising_to_pay_is_effective() -> None:
    assert [d.code for d in DEFAULT_DISPOSITIONS if d.effective] == ["acuerdo_de_pago", "promesa_de_pago"]


def test_a_trailing_star_marks_a_typed_disposition_effective() -> None:
    typed = typed_dispositions(["Pago total *", "Acuerdo de pago", "promesa_de_pago*", "No contesta  *  "])

    assert typed == (Disposition("pago_total", "Pago total", effective=True),
                     Disposition("acuerdo_de_pago", "Acuerdo de pago"),
                     Disposition("promesa_de_pago", "Promesa de pago", effective=True),
                     Disposition("no_contesta", "No contesta", effective=True))
    assert [d.as_typed() for d in typed[:2]] == ["Pago total *", "Acuerdo de pago"]


def test_dispositions_stored_before_the_flag_are_effective_only_for_the_default_effective_codes() -> None:
    settings = CampaignSettings.from_dict({"dispositions": [
        "acuerdo_de_pago", "pago_total", {"code": "promesa_de_pago", "label": "Promete pagar"},
        {"code": "abono", "label": "Abono"}, {"code": "no_interesado", "label": "No interesado", "effective": True}]})

    assert [d.effective for d in settings.dispositions] == [True, False, True, False, True]
    assert settings.dispositions[2] == Disposition("promesa_de_pago", "Promete pagar", effective=True)
