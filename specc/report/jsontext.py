"""JSON text laid out as ``json.dumps(value, indent=2, ensure_ascii=False)`` writes it, built fast.

With ``indent``, json.dumps falls back to its pure-Python encoder: about 9 s for
the report of a 100,000-layer spec. Here the text of every scalar comes from the
C encoder, one call for a whole column of values, and the layout around those
texts is composed with str.join, exactly as json.dumps lays it out::

    [          a non-empty array or object: "[" or "{", then each item on a line
      1,       of its own one level deeper, separated by ",\\n", then the closing
      2        bracket on a line of its own at the container's level; an empty
    ]          one is "[]" or "{}"; a member is its key's text, ": ", its value.

Every text also goes through json_safe (json.dumps escapes only C0 controls), so
the result equals ``json_safe(json.dumps(value, indent=2, ensure_ascii=False))``:
json_safe replaces single characters, and those occur only inside strings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..escape import json_safe

INDENT = "  "


def dumps(value: object, level: int = 0) -> str:
    """``value`` as json.dumps(indent=2) writes it nested ``level`` deep: for the small parts of a report."""
    text = json_safe(json.dumps(value, indent=2, ensure_ascii=False))
    return text.replace("\n", "\n" + INDENT * level) if level else text  # raw newlines are only layout


def scalars(values: Sequence[object]) -> list[str]:
    """The text of each value (None, a bool, int, float or str), from one call of the C encoder.

    A raw NUL cannot occur inside JSON text (the encoder writes it as \\u0000), so as the
    separator between the items it splits them apart exactly."""
    if not values:
        return []
    texts = json_safe(json.dumps(list(values), ensure_ascii=False, separators=("\0", ": ")))[1:-1].split("\0")
    if len(texts) != len(values):  # a list or an object among the values: not a column of scalars
        raise ValueError("scalars() takes a column of scalars")
    return texts


def arrays(lists: Sequence[Sequence[object] | None], level: int) -> list[str]:
    """The text of each list of scalars (``None`` is null), each an array nested ``level`` deep."""
    items = scalars([item for values in lists if values for item in values])
    inner = INDENT * (level + 1)
    separator, close = ",\n" + inner, f"\n{INDENT * level}]"
    texts, end = [], 0
    for values in lists:
        if not values:
            texts.append("null" if values is None else "[]")
            continue
        start, end = end, end + len(values)
        texts.append(f"[\n{inner}{separator.join(items[start:end])}{close}")
    return texts


def obj(members: dict[str, str], level: int) -> str:
    """An object of members whose values are already written, nested ``level`` deep."""
    inner = INDENT * (level + 1)
    body = ",\n".join(f"{inner}{key}: {text}" for key, text in zip(scalars(list(members)), members.values()))
    return f"{{\n{body}\n{INDENT * level}}}" if body else "{}"


def template(keys: Sequence[str], level: int, tails: int = 0) -> str:
    """An object of these members nested ``level`` deep, with a %s for each one's value, and ``tails`` more
    after the last value: for the text of members that only some rows have, or ""."""
    inner = INDENT * (level + 1)
    body = ",\n".join(f"{inner}{key}: %s" for key in (k.replace("%", "%%") for k in scalars(keys)))
    return f"{{\n{body}{'%s' * tails}\n{INDENT * level}}}"
