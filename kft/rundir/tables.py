"""Plain-text and Markdown tables, for `kft report` and `kft eval`."""


def text_table(header, rows):
    """An aligned plain-text table: columns two spaces apart.

    Args:
        header: list of str.
        rows: list of lists, as long as `header`; cells become `str`.

    Returns:
        str, one line per row after the header, no trailing newline.
    """
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
        .rstrip() for r in cells)


def markdown_table(header, rows):
    """A GitHub-flavoured Markdown table; `|` and line breaks in cells are
    escaped so that every row stays one row."""
    def row(cells):
        return "| " + " | ".join(_escape(c) for c in cells) + " |"

    lines = [row(header), "|" + "---|" * len(header)]
    return "\n".join(lines + [row(r) for r in rows])


def short(text, width=60):
    """`text` on one line, cut to `width` characters with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 3] + "..."


def _escape(cell):
    text = str(cell).replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(text.splitlines())
