"""The example specs shipped with specc, for `specc new NAME` and `specc new --list`.

Their one home is the repository's ``specs/`` folder (each one is a test); the
wheel carries a copy as ``specc/examples/`` (hatch's force-include in
pyproject.toml), so an installed specc finds them there and a source checkout
finds them in ``specs/``. Each spec's description is its header comment. No torch.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import SpeccError

DESCRIPTION_WIDTH = 100


def folder() -> Path:
    """specc/examples inside an installed package, else the checkout's specs/."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "examples"
    return packaged if packaged.is_dir() else package.parent / "specs"


def names() -> list[str]:
    return sorted(p.stem for p in folder().glob("*.cnn"))


def text(name: str) -> str:
    """An example's source; SpeccError (exit 2) with a suggestion for an unknown name."""
    wanted = name.removesuffix(".cnn").replace("_", "-")
    path = folder() / f"{wanted}.cnn"
    if not path.is_file():
        from ..diagnostics import nearest

        close = nearest(wanted, names())
        hint = f"did you mean `{close}`? " if close else ""
        raise SpeccError(f"no example named '{name}'; {hint}`specc new --list` lists them", 2)
    return path.read_text(encoding="utf-8")


def description(source: str) -> str:
    """The header comment's first sentence, without the file name: ``a LeNet-5 style network ...``."""
    words: list[str] = []
    for line in source.splitlines():
        if not line.startswith("#"):
            break
        body = line.lstrip("#").strip()
        if not body:
            if words:
                break
            continue
        words.append(body)
        if re.search(r"[.:]$", body):
            break
    joined = _first_clause(re.sub(r"^\S+\.cnn\s+[—-]+\s+", "", " ".join(words))).rstrip(".:")
    if len(joined) > DESCRIPTION_WIDTH and joined.endswith(")"):
        joined = joined[:joined.rfind(" (")] if " (" in joined else joined  # a closing aside goes first
    if len(joined) > DESCRIPTION_WIDTH:
        joined = joined[:DESCRIPTION_WIDTH - 1].rsplit(" ", 1)[0] + "…"
    return joined


def _first_clause(sentence: str) -> str:
    """Up to the first ": " or ". " outside quotes and brackets."""
    depth, quoted = 0, False
    for i, char in enumerate(sentence):
        depth += (char == "(") - (char == ")")
        quoted ^= char == '"'
        if char in ".:" and sentence[i + 1:i + 2] == " " and not depth and not quoted:
            return sentence[:i]
    return sentence


def listing() -> list[tuple[str, str]]:
    """(name, description) for every example."""
    return [(name, description(text(name))) for name in names()]
