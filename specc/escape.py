"""Text from outside (a file name, a spec, an exception) made safe to show:
control characters written out, never obeyed. Pure functions; standard library only.

The patterns are compiled when first needed (half a millisecond of every check's
start otherwise): most text holds no control character, which ``str.isprintable``
and ``str.isascii`` tell without them."""

from __future__ import annotations

import re
from functools import cache

# Terminal controls that a file name or a spec could smuggle into a message: C0 (but tab and newline),
# DEL, C1, and the bidirectional overrides that reorder what a line seems to say.
_CONTROLS = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
_JSON_UNSAFE = "[\x7f-\x9f\u202a-\u202e\u2066-\u2069]"


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def printable(text: str) -> str:
    r"""``text`` with terminal control characters written out (``\x1b``, ``\u202e``): shown, never obeyed."""
    if text.isprintable():  # every character _CONTROLS matches is one Python does not print
        return text
    return _compiled(_CONTROLS).sub(
        lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def printable_line(text: str) -> str:
    r"""``printable``, with tab and newline written out too (``\t``, ``\n``): a name shown inside one line."""
    return printable(text).replace("\t", "\\t").replace("\n", "\\n")


def json_safe(text: str) -> str:
    r"""JSON text with DEL, C1 and bidi controls written as \u escapes (json.dumps escapes only C0)."""
    if text.isascii() and "\x7f" not in text:
        return text
    return _compiled(_JSON_UNSAFE).sub(lambda m: f"\\u{ord(m[0]):04x}", text)
