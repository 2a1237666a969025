"""How amounts are shown to people: exact decimal digits, grouped for reading.

Shared by the summary table, the plots and the sweep report, so that each prints an amount the
same way.
"""

from __future__ import annotations


def group_digits(decimal_text: str) -> str:
    """``"-1234567.5"`` -> ``"-1,234,567.5"``: thousands separators for reading, exact digits."""
    sign = "-" if decimal_text.startswith("-") else ""
    whole, dot, frac = decimal_text.lstrip("-").partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        whole, groups = whole[:-3], [whole[-3:]] + groups
    return sign + ",".join([whole] + groups) + dot + frac
