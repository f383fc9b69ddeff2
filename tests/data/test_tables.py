"""kft/data/tables.py: the one table reader, its formats and encodings."""

import codecs
import json

import pytest

from kft import KftError
from kft.data.tables import decode, format_of, read_table

pytestmark = pytest.mark.backend_free  # no backend-dependent code

ROWS = 'label\tsentence\n1\the said " yes\n0\tno\n'


def write(tmp_path, name, data):
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return str(path)


def test_tsv_keeps_bare_quotes_and_counts_lines(tmp_path):
    table = read_table(write(tmp_path, "a.tsv", ROWS + "\n1\tagain\n"))
    assert table.columns == {"label": ["1", "0", "1"],
                             "sentence": ['he said " yes', "no", "again"]}
    assert table.lines == [2, 3, 5]  # the blank line 4 is skipped
    assert table.where(2).endswith("a.tsv:5")


def test_csv_quotes_and_multiline_fields(tmp_path):
    text = 'text,topic\n"a, b",x\n"two\nlines",y\nplain,z\n'
    table = read_table(write(tmp_path, "a.csv", text))
    assert table.column("text") == ["a, b", "two\nlines", "plain"]
    assert table.lines == [2, 3, 5]


def test_jsonl_and_parquet(tmp_path):
    rows = [{"text": "a", "label": 1}, {"text": "b", "label": 0}]
    path = write(tmp_path, "a.jsonl",
                 "\n".join(json.dumps(r) for r in rows) + "\n\n")
    assert read_table(path).columns == {"text": ["a", "b"],
                                        "label": [1, 0]}
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": ["a", "b"], "label": [1, 0]}),
                   str(tmp_path / "a.parquet"))
    table = read_table(str(tmp_path / "a.parquet"))
    assert table.columns == {"text": ["a", "b"], "label": [1, 0]}


@pytest.mark.parametrize("encoding, bom", [
    ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-8", codecs.BOM_UTF8)])
def test_a_byte_order_mark_selects_utf16_or_utf8(tmp_path, encoding, bom):
    """What spreadsheet programs' "Unicode text" export writes (UTF-16 with
    a BOM), and Excel's "CSV UTF-8" (UTF-8 with a BOM), read as UTF-8."""
    path = write(tmp_path, "a.tsv", bom + ROWS.encode(encoding))
    assert read_table(path).columns == read_table(
        write(tmp_path, "b.tsv", ROWS)).columns


@pytest.mark.parametrize("data, where", [
    (b"label\tsentence\n1\tcaf\xe9\n", ":2: not UTF-8 text (byte 0xe9"),
    (bytes(range(256)) * 4, ":2: not UTF-8 text (byte 0x80"),
    (ROWS.encode("utf-16-le"), ":1: not UTF-8 text (byte 0x00"),
], ids=["latin-1", "binary", "utf-16 without a BOM"])
def test_other_bytes_name_the_file_line_and_byte(tmp_path, data, where):
    path = write(tmp_path, "bad.tsv", data)
    with pytest.raises(KftError, match=r"bad\.tsv" + where.replace(
            "(", r"\(") + r".*save the file as UTF-8"):
        decode(path)


@pytest.mark.parametrize("name, text, words", [
    ("a.tsv", "", "a.tsv is empty; it needs a header line"),
    ("a.tsv", "x\ty\n1\n", "a.tsv:2: expected 2 tab-separated columns, "
     "found 1"),
    ("a.csv", "x,x\n1,2\n", "a.csv:1: the header names column(s) 'x' "
     "twice"),
    ("a.csv", 'x,y\n"a,1\n', "a.csv:"),
    ("a.jsonl", "[1]\n", "a.jsonl:1: not a JSON object"),
    ("a.jsonl", "\n", "a.jsonl has no rows"),
    ("a.txt", "x\n", "a.txt: kft reads .tsv, .csv, .jsonl, .parquet files, "
     "not .txt"),
    ("a", "x\n", "kft reads .tsv, .csv, .jsonl, .parquet files, not files "
     "without an extension"),
])
def test_bad_files_fail_in_one_line(tmp_path, name, text, words):
    with pytest.raises(KftError) as error:
        read_table(write(tmp_path, name, text))
    assert words in str(error.value) and "\n" not in str(error.value)


def test_a_missing_column_lists_the_columns_the_file_has(tmp_path):
    table = read_table(write(tmp_path, "a.tsv", ROWS))
    with pytest.raises(KftError, match="has no column 'text' "
                       r"\(label_column=\); its columns are: label, "
                       "sentence"):
        table.column("text", "label_column=")


def test_format_of_ignores_case():
    assert format_of("A.TSV") == ".tsv" and format_of("x.Parquet")
