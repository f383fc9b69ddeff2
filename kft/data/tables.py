"""The one reader of tabular text files: TSV, CSV, JSON Lines and Parquet.

Every file kft reads rows from (training data, `kft predict --input`,
`kft eval` splits, the benchmarks' peers) goes through `read_table`, so
each gets the same checks and the same one-line errors naming the file and
line:

- `.tsv`: tab-separated with a header line; quoting is off, as in GLUE,
  so sentences may hold bare `"` characters;
- `.csv`: comma-separated with a header line, standard quoting (`"a, b"`);
- `.jsonl`: one JSON object per line; blank lines are skipped;
- `.parquet`: read with pyarrow, when it is installed.

Text files are UTF-8; a byte-order mark selects UTF-8 or UTF-16 instead
(spreadsheet programs' "Unicode text" export is UTF-16 with a BOM). Other
bytes are an error naming the file and the line.
"""

import codecs
import csv
import dataclasses
import io
import json
import os

from kft.errors import KftError

FORMATS = (".tsv", ".csv", ".jsonl", ".parquet")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


@dataclasses.dataclass(frozen=True)
class Table:
    """The rows of a file, by column.

    Args:
        path: str. The file, for messages.
        columns: dict of str to list. Each column's values, in file order:
            strings for TSV and CSV, JSON values for JSON Lines.
        lines: list of int. The line each row starts on (1 is the header
            of TSV and CSV; row numbers from 1 for Parquet).
    """

    path: str
    columns: dict
    lines: list

    def __len__(self):
        return len(self.lines)

    def column(self, name, role="a column"):
        """The values of column `name`; `KftError` listing the columns the
        file has when it has no such column.

        Args:
            name: str.
            role: str. What the column is for, for the message, e.g.
                `label_column=`.
        """
        if name not in self.columns:
            found = ", ".join(self.columns) or "none"
            raise KftError(
                f"{self.path} has no column {name!r} ({role}); its columns "
                f"are: {found}")
        return self.columns[name]

    def where(self, row):
        """`FILE:LINE` of row `row` (0-based), for messages."""
        return f"{self.path}:{self.lines[row]}"


def format_of(path):
    """The format of `path` from its extension; `KftError` naming the
    formats kft reads for any other."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in FORMATS:
        raise KftError(
            f"{path}: kft reads {', '.join(FORMATS)} files, not "
            f"{extension or 'files without an extension'}; save it in one "
            "of those formats")
    return extension


def read_table(path):
    """Reads `path` (`.tsv`, `.csv`, `.jsonl` or `.parquet`) as a `Table`.

    Raises:
        KftError: naming the file (and the line) when it is missing, empty,
            not decodable text, or a row is malformed.
    """
    extension = format_of(path)
    if not os.path.isfile(path):
        raise KftError(f"{path} does not exist")
    if extension == ".parquet":
        return _parquet(path)
    text = decode(path)
    if extension == ".jsonl":
        return _jsonl(path, text)
    return _delimited(path, text, "\t" if extension == ".tsv" else ",")


def decode(path):
    """The text of `path`: UTF-8, or UTF-8 / UTF-16 after a byte-order
    mark; `KftError` naming the file, line and byte otherwise."""
    with open(path, "rb") as f:
        data = f.read()
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)),
                    "utf-8")
    try:
        text = data.decode(encoding)
        if "\x00" in text:  # valid UTF-8, but not text: UTF-16 without BOM?
            start = len(text[:text.index("\x00")].encode(encoding))
            raise UnicodeDecodeError(encoding, data, start, start + 1, "NUL")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        byte = data[error.start:error.start + 1].hex()
        raise KftError(
            f"{path}:{line}: not {encoding.upper().replace('-SIG', '')} text "
            f"(byte 0x{byte} at offset {error.start}); save the file as "
            "UTF-8 (or UTF-16 with a byte-order mark)") from None
    return text


def _delimited(path, text, delimiter):
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                        quoting=quoting, strict=delimiter != "\t")
    kind = "tab-separated" if delimiter == "\t" else "comma-separated"
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise KftError(f"{path} is empty; it needs a header line naming "
                           "its columns, then one row per example")
        header = [h.strip() for h in header]
        doubled = sorted({h for h in header if header.count(h) > 1})
        if doubled:
            raise KftError(f"{path}:1: the header names column(s) "
                           f"{', '.join(map(repr, doubled))} twice; rename "
                           "one of them")
        columns = {name: [] for name in header}
        lines, last = [], reader.line_num
        for row in reader:
            line, last = last + 1, reader.line_num  # a row may span lines
            if not row:
                continue  # a blank line
            if len(row) != len(header):
                raise KftError(
                    f"{path}:{line}: expected {len(header)} "
                    f"{kind} columns, found {len(row)}; fix or remove that "
                    "line")
            for name, value in zip(header, row, strict=True):
                columns[name].append(value)
            lines.append(line)
    except csv.Error as error:
        raise KftError(f"{path}:{reader.line_num}: not valid {kind} text "
                       f"({error}); fix that line") from None
    return Table(path, columns, lines)


def _jsonl(path, text):
    columns, lines = {}, []
    for line, row_text in enumerate(text.splitlines(), start=1):
        if not row_text.strip():
            continue
        try:
            row = json.loads(row_text)
        except ValueError as error:
            raise KftError(f"{path}:{line}: not a JSON object ({error}); "
                           "write one object per line") from None
        if not isinstance(row, dict):
            raise KftError(f"{path}:{line}: not a JSON object; write one "
                           "object per line")
        for name in row:
            columns.setdefault(name, [None] * len(lines))
        for name, values in columns.items():
            values.append(row.get(name))
        lines.append(line)
    if not lines:
        raise KftError(f"{path} has no rows; write one JSON object per "
                       "line")
    return Table(path, columns, lines)


def _parquet(path):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise KftError(f"{path}: reading Parquet needs pyarrow; pip "
                       "install pyarrow, or save the file as .csv") from None
    try:
        data = pq.read_table(path).to_pydict()
    except Exception as error:  # noqa: BLE001  (any failure: a bad file)
        first = (str(error).splitlines() or [""])[0][:200]
        raise KftError(f"{path} is not a readable Parquet file "
                       f"({type(error).__name__}: {first})") from None
    count = len(next(iter(data.values()), []))
    return Table(path, data, list(range(1, count + 1)))
