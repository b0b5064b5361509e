"""Check an uploaded customer portfolio (cartera) before anything is stored: the preview.

`check_portfolio` reads the file, maps its columns, normalises and validates every row, and
returns a PortfolioPreview: the valid rows ready to import, every problem with its row, column
and reason (Spanish), and the counts; `preview_portfolio` gives the same without keeping the rows
(an upload's preview, which shows only counts and problems). A file that cannot be used at all raises
PortfolioFileError. Nothing here stores anything.

Rules a user sees:
- rows are numbered from the first data row below the header (data row N of a CSV whose header
  is on line 1 is file line N + 1); blank rows keep their number but are not counted;
- a row is invalid when any of its errors is: missing or malformed document, unknown document
  type, invalid main phone, balance or days past due that are not numbers, a formula, a wrong
  number of columns, or a document repeated in the file (all its rows are invalid: neither is
  imported, since we cannot know which one is right);
- warnings leave the row valid: no main phone (the customer can still write in and be identified
  by document), an invalid extra phone (dropped), an email that does not look like one (dropped,
  because email is never used to identify or reach a customer here), no name, no document type
  (CC assumed);
- a row whose only content is formulas (a totals row) is ignored and noted.

The package, by concern: `check` (the entry point), `columns` (header roles), `rows` (each row),
`phones`, `values` (balances, emails, days), `preview` and `problems` (the results). Document
types and numbers are domain rules: `domain/documents.py`.
"""

from application.portfolio_check.check import check_portfolio, preview_portfolio
from application.portfolio_check.columns import ColumnMap, classify_header, is_portfolio_header, map_columns
from application.portfolio_check.phones import (
    Phone,
    colombian_national_number,
    e164_by_phonenumbers,
    is_valid_colombian_number,
    phones_in_cell,
    to_e164,
)
from application.portfolio_check.preview import CustomerRow, PortfolioPreview
from application.portfolio_check.problems import InvalidCellError, RowProblem
from application.portfolio_check.values import normalise_balance, normalise_days, normalise_email
from application.portfolio_tables import DEFAULT_MAX_BYTES, FileFormat, PortfolioFileError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ColumnMap",
    "CustomerRow",
    "FileFormat",
    "InvalidCellError",
    "Phone",
    "PortfolioFileError",
    "PortfolioPreview",
    "RowProblem",
    "check_portfolio",
    "classify_header",
    "colombian_national_number",
    "e164_by_phonenumbers",
    "is_portfolio_header",
    "is_valid_colombian_number",
    "map_columns",
    "normalise_balance",
    "normalise_days",
    "normalise_email",
    "phones_in_cell",
    "preview_portfolio",
    "to_e164",
]
