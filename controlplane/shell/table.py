"""Plain-text output of shell commands: aligned tables and "name: value" field lists.

Pure and standard library only. Columns are separated by two spaces; the last column is not
padded, so no line ends in blanks.
"""

from __future__ import annotations

from collections.abc import Sequence


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, indent: str = "") -> str:
    """`headers` then `rows`, each column as wide as its widest cell."""
    widths = [len(h) for h in headers]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"row {list(row)} has {len(row)} cells, the table {len(headers)} columns")
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = []
    for cells in [headers, *rows]:
        padded = [cell.ljust(w) for cell, w in zip(cells[:-1], widths, strict=False)]
        lines.append(indent + "  ".join([*padded, cells[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def render_fields(fields: Sequence[tuple[str, str]]) -> str:
    """One "name: value" line per field, values aligned."""
    width = max((len(name) for name, _ in fields), default=0) + 1
    return "".join(f"{(name + ':').ljust(width)} {value}".rstrip() + "\n" for name, value in fields)


def plural(count: int, noun: str, nouns: str = "") -> str:
    """ "1 rack", "2 racks", "0 data centers"."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def yes_no(value: bool) -> str:
    return "yes" if value else "no"
