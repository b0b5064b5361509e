"""An uploaded portfolio file (CSV or XLSX) as a header and rows of cell text.

Knows nothing about what the columns mean: the caller says which row is a header through
`is_header`. A file that cannot be used at all raises PortfolioFileError, whose message
(Spanish) is shown to the user as it is.

Conventions the checker relies on:
- a cell whose text starts with "=" is a formula (XLSX is read with data_only=False, and a CSV
  cell starting with "=" is either a formula typed by hand or an injection attempt);
- rows are lists of cell text; data row N is `rows[N - 1]`; blank rows stay as `[]` so that row
  numbers keep matching the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

import openpyxl
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from application.portfolio_tables import (
    DEFAULT_MAX_BYTES,
    FileFormat,
    FileType,
    HeaderTest,
    PortfolioFileError,
    RawTable,
    TableStream,
    ensure_within_size_limit,
    megabytes,
)
from domain.text import fold

HEADER_SEARCH_ROWS = 30
DELIMITER_SAMPLE_ROWS = 200
"""Data rows below the header whose widths decide the delimiter."""
DELIMITER_SAMPLE_CHARACTERS = 65536
DECODE_SLICE_BYTES = 1 << 20
# An XLSX is a zip: refuse one that would unpack to far more than the upload limit (zip bomb).
MAX_UNPACKED_RATIO = 20

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and any password-protected Office file
_DELIMITERS = (",", ";", "\t", "|")
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_TEXT_BYTES = bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100)) + b"\t\n\r"

def looks_like_header(cells: Sequence[str]) -> bool:
    """Fallback header test: at least two non-empty cells, none of them a number."""
    filled = [cell for cell in cells if cell.strip()]
    return len(filled) >= 2 and not any(_is_number_like(cell) for cell in filled)


def read_table(content: bytes, file_name: str, *, sheet: str | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES, is_header: HeaderTest = looks_like_header) -> RawTable:
    """Read the whole file by its content, whatever its name says. `sheet` only matters for XLSX."""
    table = stream_table(content, file_name, sheet=sheet, max_bytes=max_bytes, is_header=is_header)
    rows = list(table.rows())
    has_formulas = table.may_have_formulas and any(cell.startswith("=") for row in rows for cell in row)
    return RawTable(header=table.header, rows=rows, has_formulas=has_formulas, format=table.format)


def stream_table(content: bytes, file_name: str, *, sheet: str | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, is_header: HeaderTest = looks_like_header) -> TableStream:
    """The header now, the rows on every pass: a big file is never held as cell text all at once."""
    ensure_within_size_limit(len(content), max_bytes)
    if not content or content.isspace():
        raise PortfolioFileError(f"El archivo «{file_name}» está vacío.")
    if _file_type(content, file_name) == "xlsx":
        return _stream_xlsx(content, file_name, sheet, max_bytes, is_header)
    return _stream_csv(content, file_name, is_header)


def _file_type(content: bytes, file_name: str) -> FileType:
    if content.startswith(_OLE_MAGIC):
        raise PortfolioFileError(
            f"«{file_name}» es un Excel antiguo (.xls) o un archivo protegido con contraseña. "
            "Guárdelo sin contraseña como .xlsx o como CSV."
        )
    if not content.startswith(b"PK\x03\x04"):
        return "csv"
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            is_open_document = "mimetype" in names and archive.read("mimetype").startswith(
                b"application/vnd.oasis.opendocument")
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise PortfolioFileError(f"«{file_name}» parece un Excel (.xlsx) pero está dañado.") from error
    if "[Content_Types].xml" in names and any(name.startswith("xl/") for name in names):
        return "xlsx"
    if is_open_document:
        raise PortfolioFileError(f"«{file_name}» es una hoja de LibreOffice (.ods). Guárdela como .xlsx o CSV.")
    raise PortfolioFileError(f"«{file_name}» es un archivo comprimido, no un Excel (.xlsx) ni un CSV.")


# --- CSV -------------------------------------------------------------------------------------


def _stream_csv(content: bytes, file_name: str, is_header: HeaderTest) -> TableStream:
    opened = _text_opener(content, file_name)
    with opened() as text:
        sample = text.read(DELIMITER_SAMPLE_CHARACTERS + 1)
    if not sample.strip():
        raise PortfolioFileError(f"El archivo «{file_name}» está vacío.")
    delimiter = _sniff_delimiter(sample[:DELIMITER_SAMPLE_CHARACTERS], len(sample) > DELIMITER_SAMPLE_CHARACTERS,
                                 is_header)
    with opened() as text:
        head = list(islice(_csv_records(text, delimiter, file_name), HEADER_SEARCH_ROWS))
    header_index = _find_header(head, is_header)
    if header_index is None:
        raise PortfolioFileError(f"El archivo «{file_name}» está vacío.")

    def rows() -> Iterator[list[str]]:
        with opened() as text:
            yield from islice(_csv_records(text, delimiter, file_name), header_index + 1, None)

    file_format = FileFormat(file_type="csv", header_row=header_index + 1, encoding=opened.encoding,
                             delimiter=delimiter)
    return TableStream(header=_header_labels(head[header_index]), rows=rows, may_have_formulas=b"=" in content,
                       format=file_format)


def _csv_records(text: io.TextIOBase, delimiter: str, file_name: str) -> Iterator[list[str]]:
    reader = csv.reader(text, delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as error:  # a cell over 128 KB: an unclosed quote swallowed the rest of the file
        raise PortfolioFileError(f"«{file_name}» no es un CSV válido cerca de la línea {reader.line_num}: "
                                 "revise que las comillas estén cerradas.") from error


class _TextOpener:
    """Opens the content as text again and again, decoded as it is read (never all of it at once)."""

    def __init__(self, content: bytes, encoding: str, codec: str) -> None:
        self.content = content
        self.encoding = encoding
        self.codec = codec

    def __call__(self) -> io.TextIOWrapper:
        return io.TextIOWrapper(io.BytesIO(self.content), encoding=self.codec, newline="")


def _text_opener(content: bytes, file_name: str) -> _TextOpener:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or Windows-1252 as Excel in Spanish writes it."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = content.decode("utf-16")
        except UnicodeDecodeError as error:
            raise _not_text(file_name) from error
        if _CONTROL_CHARACTERS.search(text):
            raise _not_text(file_name)
        return _TextOpener(content, "utf-16", "utf-16")
    content = content.rstrip(b"\x1a")  # an old DOS end-of-file mark is not data
    # Control characters are the same bytes in UTF-8 and Windows-1252; deleting every other byte
    # finds them ten times faster than a regex over the decoded text.
    if content.translate(None, _TEXT_BYTES):
        raise _not_text(file_name)
    if _is_utf8(content):
        return _TextOpener(content, "utf-8", "utf-8-sig")
    return _TextOpener(content, "cp1252", "cp1252")


def _is_utf8(content: bytes) -> bool:
    """Validated in slices: decoding a 50 MB file at once would hold its text twice over."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(content)
    try:
        for start in range(0, len(view), DECODE_SLICE_BYTES):
            decoder.decode(view[start:start + DECODE_SLICE_BYTES])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _not_text(file_name: str) -> PortfolioFileError:
    return PortfolioFileError(
        f"«{file_name}» no es un archivo de texto CSV ni un Excel (.xlsx): tiene datos binarios o "
        "caracteres de control. Expórtelo desde Excel como «CSV UTF-8» o «CSV (delimitado por comas)»."
    )


def _sniff_delimiter(sample: str, cut_short: bool, is_header: HeaderTest) -> str:
    """The candidate that splits the header into columns and the sample rows below it into as many.

    Counting characters on a line lets a `;` file lose to the commas of one cell ("Calle 5, Apto 3,
    Torre 2", "1,020,304,050", decimal commas). Each candidate instead parses a sample as CSV (quotes
    respected) and is judged by its header: one that splits it into two or more columns, then one the
    caller recognises as a header, then the share of rows as wide as it, then the widest; ties go to
    the comma. csv.Sniffer answers from character counts too, and gives up on a title row."""
    return max(_DELIMITERS, key=lambda delimiter: _fit(sample, cut_short, delimiter, is_header))


def _fit(sample: str, cut_short: bool, delimiter: str, is_header: HeaderTest) -> tuple[bool, bool, float, int]:
    records = list(islice(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter),
                          HEADER_SEARCH_ROWS + DELIMITER_SAMPLE_ROWS))
    if cut_short and records:
        records.pop()  # the sample may end inside this record
    header_index = _find_header(records, is_header)
    if header_index is None:
        return False, False, 0.0, 0
    header = records[header_index]
    width = len(_header_labels(header))
    rows = [row for row in records[header_index + 1:] if _has_data(row)]
    as_wide = sum(len(row) == len(header) for row in rows) / len(rows) if rows else 1.0
    return width >= 2, is_header(header), as_wide, width


# --- XLSX ------------------------------------------------------------------------------------


def _stream_xlsx(content: bytes, file_name: str, sheet: str | None, max_bytes: int,
                 is_header: HeaderTest) -> TableStream:
    _refuse_zip_bomb(content, file_name, max_bytes)
    with _workbook(content, file_name) as workbook:
        names = tuple(worksheet.title for worksheet in workbook.worksheets)
        chosen, head = _choose_sheet(workbook, sheet, is_header)
    header_index = _find_header(head, is_header)
    if header_index is None:
        raise PortfolioFileError(f"La hoja «{chosen}» de «{file_name}» está vacía.")
    header = _header_labels(head[header_index])

    def rows() -> Iterator[list[str]]:
        with _workbook(content, file_name) as workbook:
            records = _sheet_records(_sheet_named(list(workbook.worksheets), chosen))
            for row in islice(records, header_index + 1, None):
                yield _fit_to_width(row, len(header))

    file_format = FileFormat(file_type="xlsx", header_row=header_index + 1, sheet=chosen, sheet_names=names)
    return TableStream(header=header, rows=rows, may_have_formulas=True, format=file_format)


@contextmanager
def _workbook(content: bytes, file_name: str) -> Iterator[Any]:
    """The workbook in read-only mode (rows parsed as they are asked for); openpyxl raises many
    exception types on damaged files, all of which mean the same to the user."""
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception as error:
        raise _damaged(file_name) from error
    try:
        yield workbook
    except PortfolioFileError:
        raise
    except Exception as error:
        raise _damaged(file_name) from error
    finally:
        workbook.close()


def _refuse_zip_bomb(content: bytes, file_name: str, max_bytes: int) -> None:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > max_bytes * MAX_UNPACKED_RATIO:
        raise PortfolioFileError(
            f"«{file_name}» ocupa {megabytes(unpacked)} al descomprimirlo, demasiado para una cartera. "
            "Divídalo en archivos más pequeños."
        )


def _damaged(file_name: str) -> PortfolioFileError:
    return PortfolioFileError(f"«{file_name}» parece un Excel (.xlsx) pero está dañado o no se puede leer.")


def _choose_sheet(workbook: Any, wanted: str | None, is_header: HeaderTest) -> tuple[str, list[list[str]]]:
    """The sheet asked for; else the first with a recognisable header; else the first with data.
    Returns its name and its first rows, where the header is looked for."""
    worksheets = list(workbook.worksheets)
    if wanted is not None:
        worksheet = _sheet_named(worksheets, wanted)
        return worksheet.title, _head(worksheet)
    first_with_data = None
    for worksheet in worksheets:
        head = _head(worksheet)
        if any(is_header(row) for row in head):
            return worksheet.title, head
        if first_with_data is None and any(_has_data(row) for row in head):
            first_with_data = worksheet.title, head
    if first_with_data is None:
        raise PortfolioFileError("El archivo de Excel no tiene datos en ninguna hoja.")
    return first_with_data


def _head(worksheet: Any) -> list[list[str]]:
    records = _sheet_records(worksheet)
    try:
        return list(islice(records, HEADER_SEARCH_ROWS))
    finally:
        records.close()


def _sheet_named(worksheets: list[Any], wanted: str) -> Any:
    for worksheet in worksheets:
        if worksheet.title == wanted:
            return worksheet
    for worksheet in worksheets:
        if fold(worksheet.title) == fold(wanted):
            return worksheet
    available = ", ".join(f"«{worksheet.title}»" for worksheet in worksheets)
    raise PortfolioFileError(f"El archivo no tiene una hoja llamada «{wanted}». Hojas disponibles: {available}.")


def _sheet_records(worksheet: Any) -> Generator[list[str], None, None]:
    worksheet.reset_dimensions()  # the stored dimensions are often wrong; read what is there
    for values in worksheet.iter_rows(values_only=True):
        yield [_cell_text(value) for value in values]


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "VERDADERO" if value else "FALSO"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, ArrayFormula):
        return str(value.text)
    if isinstance(value, DataTableFormula):
        return "=TABLE()"
    return str(value)


def _number_text(value: float) -> str:
    """Documents stored as numbers lose their ".0"; other numbers keep every digit they have."""
    if value.is_integer():
        return str(int(value))
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    fraction = text.partition(".")[2]
    # In Colombian text "1.234" means one thousand two hundred thirty-four; a fraction of
    # exactly three digits would be read back that way, so it gets a harmless trailing zero.
    return f"{text}0" if len(fraction) == 3 else text


def _fit_to_width(row: list[str], width: int) -> list[str]:
    """Excel rows end where their last filled cell does: pad short ones, drop empty overflow."""
    if len(row) < width:
        return row + [""] * (width - len(row))
    if len(row) > width and not any(row[width:]):
        return row[:width]
    return row


# --- shared ----------------------------------------------------------------------------------


def _find_header(records: list[list[str]], is_header: HeaderTest) -> int | None:
    """Skip title rows: the first recognisable header, else the first row that looks like one."""
    candidates = [index for index, row in enumerate(records[:HEADER_SEARCH_ROWS]) if _has_data(row)]
    for test in (is_header, looks_like_header):
        for index in candidates:
            if test(records[index]):
                return index
    return candidates[0] if candidates else None


def _header_labels(row: list[str]) -> list[str]:
    labels = [" ".join(cell.split()) for cell in row]
    while labels and not labels[-1]:
        labels.pop()
    return labels


def _has_data(row: Sequence[str]) -> bool:
    return any(cell.strip() for cell in row)


def _is_number_like(cell: str) -> bool:
    stripped = cell.strip().lstrip("+-$")
    return bool(stripped) and stripped.replace(".", "").replace(",", "").replace(" ", "").isdigit()
