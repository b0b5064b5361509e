"""A portfolio file checked as it is read, for the import: valid customers in chunks, then the counts.

The rules and the counts are those of `check_portfolio`; only memory differs. A document repeated in
the file makes all its rows invalid, and its first row may come long before its second, so the file
is read twice. The first pass finds the identity each row names and keeps a fingerprint of it
(8 bytes a row, sorted in buckets one at a time): fingerprints seen twice are documents that may be
repeated. The second pass checks every row fully and hands the valid ones out in chunks, holding
back the rows of those documents. At the end the documents repeated for real are duplicates, and
the held rows of the others (two identities whose fingerprints collided) are read once more.
"""

from __future__ import annotations

import hashlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

from application.portfolio_check.columns import is_portfolio_header, map_columns
from application.portfolio_check.preview import CustomerRow
from application.portfolio_check.rows import RowChecker
from application.portfolio_tables import DEFAULT_MAX_BYTES, PortfolioFileError, TableStream, TableStreamer
from domain.documents import CustomerIdentity

FINGERPRINT_BUCKETS = 256
Fingerprint = Callable[[CustomerIdentity], int]


def stable_fingerprint(identity: CustomerIdentity) -> int:
    """64 bits of a hash that is the same in every process: a worker resuming an import after a crash must
    cut the file into the same chunks (Python's own `hash` of a string changes from process to process)."""
    digest = hashlib.blake2b(f"{identity.document_type}:{identity.document_number}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)



def stream_portfolio(content: bytes, file_name: str, *, stream_table: TableStreamer, sheet: str | None = None,
                     max_bytes: int = DEFAULT_MAX_BYTES) -> StreamedCheck:
    table = stream_table(content, file_name, sheet=sheet, max_bytes=max_bytes, is_header=is_portfolio_header)
    return StreamedCheck(table, file_name, hashlib.sha256(content).hexdigest())


class StreamedCheck:
    def __init__(self, table: TableStream, file_name: str, sha256: str, *,
                 fingerprint: Fingerprint = stable_fingerprint) -> None:
        self.table = table
        self.file_name = file_name
        self.sha256 = sha256
        self.columns = map_columns(table.header)
        self.fingerprint = fingerprint
        self.counts: dict[str, int] = {}
        """Set once `chunks` has handed out every row: rows, valid, invalid, duplicates, warnings."""

    def chunks(self, size: int) -> Iterator[list[CustomerRow]]:
        """The valid customers, `size` at a time, in the order of the file (held rows last)."""
        suspects = self._maybe_repeated()
        checker = self._checker()
        occurrences: Counter[CustomerIdentity] = Counter()
        held: dict[CustomerIdentity, int] = {}
        valid = 0
        chunk: list[CustomerRow] = []
        for number, cells in enumerate(self.table.rows(), start=1):
            row = checker.check(number, cells)
            if suspects:
                identity = CustomerIdentity(row.document_type, row.document_number) if row \
                    else checker.identity(number, cells)
                if identity is not None and self.fingerprint(identity) in suspects:
                    occurrences[identity] += 1
                    if row is not None:
                        held[identity] = number
                    continue
            if row is not None:
                chunk.append(row)
                if len(chunk) == size:
                    valid += size
                    yield chunk
                    chunk = []
        released = {number for identity, number in held.items() if occurrences[identity] == 1}
        for row in self._rows_numbered(released):
            chunk.append(row)
            if len(chunk) == size:
                valid += size
                yield chunk
                chunk = []
        if chunk:
            valid += len(chunk)
            yield chunk
        self.counts = {"rows": checker.counted_rows, "valid": valid, "invalid": checker.counted_rows - valid,
                       "duplicates": sum(n for n in occurrences.values() if n > 1),
                       "warnings": checker.warning_rows}

    def _checker(self) -> RowChecker:
        return RowChecker(self.columns, self.table.may_have_formulas, keep_results=False)

    def _maybe_repeated(self) -> set[int]:
        """First pass: the fingerprints of identities named by two rows or more. Refuses a file with
        no rows before anything is imported."""
        checker = self._checker()
        buckets = [array("q") for _ in range(FINGERPRINT_BUCKETS)]
        counted = 0
        for number, cells in enumerate(self.table.rows(), start=1):
            if not checker.is_counted(cells):
                continue
            counted += 1
            if (identity := checker.identity(number, cells)) is not None:
                fingerprint = self.fingerprint(identity)
                buckets[fingerprint % FINGERPRINT_BUCKETS].append(fingerprint)
        if counted == 0:
            raise PortfolioFileError(f"«{self.file_name}» solo tiene el encabezado: no hay clientes para revisar.")
        repeated: set[int] = set()
        while buckets:
            ordered = sorted(buckets.pop())
            repeated.update(a for a, b in zip(ordered, islice(ordered, 1, None), strict=False) if a == b)
        return repeated

    def _rows_numbered(self, numbers: Iterable[int]) -> Iterator[CustomerRow]:
        """Last pass, over the held rows that turned out not to be repeated (usually none)."""
        wanted = set(numbers)
        if not wanted:
            return
        checker = self._checker()
        for number, cells in enumerate(self.table.rows(), start=1):
            if number in wanted and (row := checker.check(number, cells)) is not None:
                yield row
