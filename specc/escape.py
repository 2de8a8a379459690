"""Text from outside (a file name, a spec, an exception) made safe to show:
control characters written out, never obeyed. Pure functions; standard library only."""

from __future__ import annotations

import re

# Terminal controls that a file name or a spec could smuggle into a message: C0 (but tab and newline),
# DEL, C1, and the bidirectional overrides that reorder what a line seems to say.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    r"""``text`` with terminal control characters written out (``\x1b``, ``\u202e``): shown, never obeyed."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def printable_line(text: str) -> str:
    r"""``printable``, with tab and newline written out too (``\t``, ``\n``): a name shown inside one line."""
    return printable(text).replace("\t", "\\t").replace("\n", "\\n")


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def json_safe(text: str) -> str:
    r"""JSON text with DEL, C1 and bidi controls written as \u escapes (json.dumps escapes only C0)."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)
