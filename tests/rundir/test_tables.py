"""kft/rundir/tables.py: aligned text tables and Markdown tables."""

import pytest

from kft.rundir.tables import markdown_table, short, text_table

pytestmark = pytest.mark.backend_free  # no backend-dependent code


def test_text_table_aligns_every_column():
    text = text_table(["run", "accuracy"], [["a", "0.5"], ["longer", "1"]])
    assert text.splitlines() == ["run     accuracy",
                                 "a       0.5",
                                 "longer  1"]


def test_markdown_table_escapes_pipes_and_line_breaks():
    text = markdown_table(["input", "n"], [["a | b\nc", 3]])
    assert text.splitlines() == ["| input | n |", "|---|---|",
                                 "| a \\| b c | 3 |"]


def test_short_cuts_long_text_to_its_width_on_one_line():
    assert short("a\tb\n c") == "a b c"
    cut = short("x" * 100, width=10)
    assert cut == "xxxxxxx..." and len(cut) == 10
