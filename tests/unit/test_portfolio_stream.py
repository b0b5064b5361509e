"""The import's streaming check and the upload's preview (which keeps no rows) report what the full
check reports: same counts, same valid customers, same problems, for the sample portfolios and for any
mix of repeated and broken documents."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.portfolio_files import read_table, stream_table
from application.portfolio_check import CustomerRow, PortfolioFileError, check_portfolio, preview_portfolio
from application.portfolio_check.stream import Fingerprint, StreamedCheck, stable_fingerprint, stream_portfolio
from domain.documents import CustomerIdentity

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "portfolios"
# From the samples' EXPECTED.md: file, rows, valid, invalid.
EXPECTED = [("cartera_banco_a.csv", 50, 50, 0), ("cartera_banco_a.xlsx", 30, 30, 0),
            ("cartera_telco_b_excel.csv", 100, 100, 0), ("cartera_con_errores.csv", 40, 30, 10)]


def streamed(content: bytes, name: str, chunk: int = 7, fingerprint: Fingerprint = stable_fingerprint) -> tuple[
        dict[str, int], list[CustomerRow]]:
    table = stream_table(content, name)
    check = StreamedCheck(table, name, "sha", fingerprint=fingerprint)
    rows = [row for rows in check.chunks(chunk) for row in rows]
    assert all(len(rows) <= chunk for rows in check.chunks(chunk))
    return check.counts, sorted(rows)


def previewed(content: bytes, name: str) -> tuple[dict[str, int], list[CustomerRow]]:
    preview = check_portfolio(content, name, read_table=read_table)
    return ({"rows": preview.total_rows, "valid": preview.valid_count, "invalid": preview.invalid_count,
             "duplicates": preview.duplicate_rows, "warnings": preview.warning_rows}, sorted(preview.valid_rows))


def previews_agree(content: bytes, name: str) -> bool:
    """The upload's preview shows what the full check shows, and names the customers the full check keeps."""
    full = check_portfolio(content, name, read_table=read_table)
    light = preview_portfolio(content, name, stream_table=stream_table)
    kept = [CustomerIdentity(row.document_type, row.document_number) for row in full.valid_rows]
    return (light.summary(limit=None) == full.summary(limit=None) and light.valid_identities == kept
            and light.error_report_csv() == full.error_report_csv() and light.valid_rows == [])


@pytest.mark.parametrize(("name", "rows", "valid", "invalid"), EXPECTED)
def test_the_streamed_check_reports_what_the_samples_expect(name: str, rows: int, valid: int, invalid: int) -> None:
    content = (SAMPLES / name).read_bytes()
    counts, customers = streamed(content, name)
    assert (counts["rows"], counts["valid"], counts["invalid"]) == (rows, valid, invalid)
    assert (counts, customers) == previewed(content, name)


@pytest.mark.parametrize("name", [name for name, *_ in EXPECTED])
def test_the_upload_preview_keeps_no_row_and_shows_what_the_full_check_shows(name: str) -> None:
    assert previews_agree((SAMPLES / name).read_bytes(), name)


def test_both_rows_of_a_repeated_document_stay_out_even_when_every_fingerprint_collides() -> None:
    content = (SAMPLES / "cartera_con_errores.csv").read_bytes()
    counts, customers = streamed(content, "cartera_con_errores.csv", fingerprint=lambda identity: 0)
    assert counts["duplicates"] == 2
    assert (counts, customers) == previewed(content, "cartera_con_errores.csv")


@pytest.mark.parametrize("name", ["cartera_vacia.csv", "cartera_solo_encabezado.csv", "cartera_sin_documento.csv",
                                  "no_es_csv.csv"])
def test_an_unusable_sample_is_refused_before_any_row_is_handed_out(name: str) -> None:
    content = (SAMPLES / name).read_bytes()
    with pytest.raises(PortfolioFileError) as preview_error:
        check_portfolio(content, name, read_table=read_table)
    with pytest.raises(PortfolioFileError) as stream_error:
        next(stream_portfolio(content, name, stream_table=stream_table).chunks(10))
    with pytest.raises(PortfolioFileError) as upload_error:
        preview_portfolio(content, name, stream_table=stream_table)
    assert str(stream_error.value) == str(preview_error.value) == str(upload_error.value)


DOCUMENTS = st.sampled_from(["1020304050", "52123456", "80765432", "52.123.456", "12AB45", "", "43210987", "=A2+1"])
TYPES = st.sampled_from(["CC", "CE", "XX", "", "cc"])
PHONES = st.sampled_from(["3001234567", "12345", "", "+1 202 555 0143"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(TYPES, DOCUMENTS, PHONES), min_size=1, max_size=25), st.integers(1, 4),
       st.booleans())
def test_the_streamed_check_agrees_with_the_preview_on_any_mix_of_rows(
        rows: list[tuple[str, str, str]], chunk: int, colliding: bool) -> None:
    content = ("tipo_documento,documento,nombres,celular\n" + "".join(
        f"{kind},{document},Cliente,{phone}\n" for kind, document, phone in rows)).encode()
    fingerprint: Fingerprint = (lambda identity: len(identity.document_number)) if colliding else stable_fingerprint
    assert streamed(content, "cartera.csv", chunk, fingerprint) == previewed(content, "cartera.csv")
    assert previews_agree(content, "cartera.csv")


def test_a_resumed_import_cuts_the_file_the_same_way_in_a_new_process() -> None:
    """Fingerprints decide which rows are held back, so a worker restarted after a crash must compute the same."""
    identity = CustomerIdentity("CC", "52123456")
    code = ("from application.portfolio_check.stream import stable_fingerprint; from domain.documents import "
            "CustomerIdentity; print(stable_fingerprint(CustomerIdentity('CC', '52123456')))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "12345"}, cwd=Path(__file__).resolve().parents[2])
    assert int(other.stdout) == stable_fingerprint(identity)
