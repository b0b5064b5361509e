"""Every data row of a portfolio file, checked and normalised into a customer or its problems."""

from __future__ import annotations

from application.portfolio_check.columns import DAYS_PAST_DUE_KEY, ColumnMap
from application.portfolio_check.phones import COLOMBIAN_SPELLING, TEN_DIGITS_VALIDITY, phones_in_cell
from application.portfolio_check.preview import CustomerRow
from application.portfolio_check.problems import InvalidCellError, RowProblem, Severity
from application.portfolio_check.values import (
    EMAIL_SHAPE,
    PLAIN_AMOUNT,
    normalise_balance,
    normalise_days,
    normalise_email,
)
from domain.documents import (
    DEFAULT_DOCUMENT_TYPE,
    DOCUMENT_RULES,
    CustomerIdentity,
    InvalidDocumentError,
    normalise_document_number,
    normalise_document_type,
)
from domain.text import quoted


class RowChecker:
    """Checks rows one by one, keeping the valid ones, the problems and what duplicates need.

    Every row of a big file passes through here: each field tries its usual form inline and calls
    the full normaliser only for the rest, and messages are only built when something is wrong.
    """

    def __init__(self, columns: ColumnMap, has_formulas: bool, *, keep_results: bool = True,
                 keep_rows: bool = True) -> None:
        """`keep_results=False` (the streaming import) keeps neither rows nor problems, only counts: the
        caller takes each valid row as `check` returns it and finds repeated documents itself.
        `keep_rows=False` (the upload preview) keeps the problems and who each valid row names, not the
        rows themselves: a tenth of the memory, and all a preview shows or a replacement compares."""
        self.keep_results = keep_results
        self.keep_rows = keep_rows
        self.columns = columns
        self.labels = columns.labels
        self.width = len(columns.labels)
        self.has_formulas = has_formulas
        self.name_columns = columns.full_name or (*columns.given_names, *columns.family_names)
        self.text_fields = tuple((index, key) for index, key in columns.custom if index != columns.days_past_due)
        self.valid_rows: list[CustomerRow] = []
        self.valid_identities: list[CustomerIdentity] = []
        self.problems: list[RowProblem] = []
        self.counted_rows = 0
        self.warning_rows = 0
        self.ignored_total_rows: list[int] = []
        self.first_row_of: dict[CustomerIdentity, int] = {}
        self.repeated: dict[CustomerIdentity, list[int]] = {}
        """Rows of every document found more than once."""
        self._last_identity = CustomerIdentity("", "")
        """The identity of the row being checked, shared with `first_row_of` rather than built twice."""

    def check(self, number: int, cells: list[str]) -> CustomerRow | None:
        """Check one row; returns it normalised when it is valid (repeated documents aside)."""
        if not self.is_counted(cells):
            if any(cells):
                self.ignored_total_rows.append(number)
            return None
        self.counted_rows += 1
        found: list[RowProblem] = []
        row = self._customer(number, cells, found)
        warnings_only = not found or all(problem.severity == "warning" for problem in found)
        if found:
            self.warning_rows += any(problem.severity == "warning" for problem in found)
            if self.keep_results:
                self.problems.extend(found)
        if row is None or not warnings_only:
            return None
        if self.keep_results:
            self.valid_identities.append(self._last_identity)
            if self.keep_rows:
                self.valid_rows.append(row)
        return row

    def identity(self, number: int, cells: list[str]) -> CustomerIdentity | None:
        """The customer a row names, as the repeated-document rule counts it: a usable type and number
        on a row of the right width without formulas, whatever its other cells say."""
        if not self.is_counted(cells):
            return None
        found: list[RowProblem] = []
        if len(cells) != self.width and not self._fits_header(number, cells, found):
            return None
        if self.has_formulas and self._reported_formulas(number, cells, found):
            return None
        document_type = self._document_type(number, cells, found)
        if not document_type:
            return None
        try:
            return CustomerIdentity(document_type,
                                    normalise_document_number(cells[self.columns.document_number], document_type))
        except InvalidDocumentError:
            return None

    def is_counted(self, cells: list[str]) -> bool:
        """Blank rows and totals rows (formulas only) are not customers and are not counted."""
        return any(cells) and not (self.has_formulas and self._is_totals_row(cells))

    def _is_totals_row(self, cells: list[str]) -> bool:
        if not any(cell.startswith("=") for cell in cells):
            return False
        index = self.columns.document_number
        document = cells[index] if index < len(cells) else ""
        return not document.startswith("=") and not any(char.isdigit() for char in document)

    def _customer(self, number: int, cells: list[str], found: list[RowProblem]) -> CustomerRow | None:
        """The normalised row, or None when its document is unusable; every problem goes to `found`."""
        if len(cells) != self.width and not self._fits_header(number, cells, found):
            return None
        if self.has_formulas and self._reported_formulas(number, cells, found):
            return None
        document_type = self._document_type(number, cells, found)
        document_number = self._document_number(number, cells, document_type, found)
        row = CustomerRow(number, document_type or "", document_number or "", self._full_name(number, cells, found),
                          self._phones(number, cells, found), self._email(number, cells, found),
                          self._balance(number, cells, found), self._custom_fields(number, cells, found))
        return row if document_type and document_number else None

    def _fits_header(self, number: int, cells: list[str], found: list[RowProblem]) -> bool:
        if len(cells) < self.width:
            found.append(RowProblem(number, "", f"La fila tiene {len(cells)} columnas y el encabezado "
                                                f"{self.width}: revise separadores y comillas"))
            return False
        if any(cell.strip() for cell in cells[self.width:]):
            found.append(RowProblem(number, "", f"La fila tiene datos en {len(cells)} columnas y el "
                                                f"encabezado solo {self.width}"))
            return False
        return True

    def _reported_formulas(self, number: int, cells: list[str], found: list[RowProblem]) -> bool:
        before = len(found)
        for index, cell in enumerate(cells[:self.width]):
            if cell.startswith("="):
                found.append(RowProblem(number, self.labels[index],
                                        f"La celda tiene una fórmula ({quoted(cell)[1:-1]}); pegue solo los valores"))
        return len(found) > before

    def _document_type(self, number: int, cells: list[str], found: list[RowProblem]) -> str | None:
        index = self.columns.document_type
        if index is None:
            return DEFAULT_DOCUMENT_TYPE
        text = cells[index]
        if text in DOCUMENT_RULES:
            return text
        if not text.strip():
            found.append(RowProblem(number, self.labels[index], "Sin tipo de documento: se asumió CC", "warning"))
            return DEFAULT_DOCUMENT_TYPE
        try:
            return normalise_document_type(text)
        except InvalidDocumentError as error:
            found.append(RowProblem(number, self.labels[index], str(error)))
            return None

    def _document_number(self, number: int, cells: list[str], document_type: str | None,
                         found: list[RowProblem]) -> str | None:
        index = self.columns.document_number
        try:
            document_number = normalise_document_number(cells[index], document_type)
        except InvalidDocumentError as error:
            found.append(RowProblem(number, self.labels[index], str(error)))
            return None
        if document_type and self.keep_results:
            identity = self._last_identity = CustomerIdentity(document_type, document_number)
            first_row = self.first_row_of.setdefault(identity, number)
            if first_row != number:
                self.repeated.setdefault(identity, [first_row]).append(number)
        return document_number

    def _full_name(self, number: int, cells: list[str], found: list[RowProblem]) -> str:
        name = " ".join(" ".join(map(cells.__getitem__, self.name_columns)).split())
        if not name and self.name_columns:
            found.append(RowProblem(number, self.labels[self.name_columns[0]], "Sin nombre", "warning"))
        return name

    def _phones(self, number: int, cells: list[str], found: list[RowProblem]) -> tuple[str, ...]:
        main = self.columns.main_phone
        if main is None:
            return ()
        phones = self._phones_of_cell(number, cells[main], main, found, "error")
        if not phones and not cells[main].strip():
            found.append(RowProblem(number, self.labels[main], "Sin teléfono principal: el cliente aún puede "
                                    "escribir e identificarse con su documento", "warning"))
        for index in self.columns.other_phones:
            if text := cells[index]:
                phones += self._phones_of_cell(number, text, index, found, "warning")
        return tuple(dict.fromkeys(phones)) if len(phones) > 1 else tuple(phones)

    def _phones_of_cell(self, number: int, text: str, index: int, found: list[RowProblem],
                        severity: Severity) -> list[str]:
        usual = COLOMBIAN_SPELLING.fullmatch(text)  # to_e164's fast path, without its calls
        if usual is not None and TEN_DIGITS_VALIDITY.match(national := usual[1] + usual[2] + usual[3]):
            return [f"+57{national}"]
        try:
            phones = phones_in_cell(text)
        except InvalidCellError as error:
            reason = str(error) if severity == "error" else f"{error}; se omite"
            found.append(RowProblem(number, self.labels[index], reason, severity))
            return []
        found.extend(RowProblem(number, self.labels[index], phone.warning(text), "warning")
                     for phone in phones if phone.dropped_extension)
        return [phone.e164 for phone in phones]

    def _email(self, number: int, cells: list[str], found: list[RowProblem]) -> str | None:
        index = self.columns.email
        if index is None:
            return None
        text = cells[index]
        if EMAIL_SHAPE.fullmatch(text):
            return text
        try:
            return normalise_email(text)
        except InvalidCellError as error:
            found.append(RowProblem(number, self.labels[index], str(error), "warning"))
            return None

    def _balance(self, number: int, cells: list[str], found: list[RowProblem]) -> str | None:
        index = self.columns.balance
        if index is None:
            return None
        text = cells[index]
        if PLAIN_AMOUNT.fullmatch(text):
            return text
        try:
            return normalise_balance(text)
        except InvalidCellError as error:
            found.append(RowProblem(number, self.labels[index], str(error)))
            return None

    def _custom_fields(self, number: int, cells: list[str], found: list[RowProblem]) -> dict[str, str]:
        fields = {}
        for index, key in self.text_fields:
            if value := cells[index].strip():
                fields[key] = value
        days_index = self.columns.days_past_due
        if days_index is None:
            return fields
        text = cells[days_index]
        try:
            days = text if text.isdigit() and text.isascii() and text[0] != "0" else normalise_days(text)
        except InvalidCellError as error:
            found.append(RowProblem(number, self.labels[days_index], str(error)))
            return fields
        if days is not None:
            fields[DAYS_PAST_DUE_KEY] = days
        return fields

    def reject_duplicates(self) -> int:
        """Every row of a document (type and number) that appears more than once is invalid; returns how
        many rows. The same number under two types is two customers."""
        repeated = self.repeated
        if not repeated:
            return 0
        label = self.columns.labels[self.columns.document_number]
        for identity, rows in repeated.items():
            listed = ", ".join(str(row) for row in rows)
            reason = f"El documento {identity} está repetido en el archivo (filas {listed}); no se importa ninguna"
            self.problems.extend(RowProblem(row, label, reason) for row in rows)
        self.valid_rows = [row for row in self.valid_rows
                           if CustomerIdentity(row.document_type, row.document_number) not in repeated]
        self.valid_identities = [identity for identity in self.valid_identities if identity not in repeated]
        return sum(len(rows) for rows in repeated.values())

    def sorted_problems(self) -> list[RowProblem]:
        return sorted(self.problems, key=lambda problem: problem.row_number)

    def notes(self) -> list[str]:
        if not self.ignored_total_rows:
            return []
        rows = ", ".join(str(row) for row in self.ignored_total_rows)
        if len(self.ignored_total_rows) == 1:
            return [f"Se ignoró la fila {rows}: es una fila de totales con fórmulas."]
        return [f"Se ignoraron las filas {rows}: son filas de totales con fórmulas."]
