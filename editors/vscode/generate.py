"""Write the keyword lists of syntaxes/cnn.tmLanguage.json from specc's statement table
(specc.lower.statements, specc.kinds). Run it after adding a kind:

    python editors/vscode/generate.py

tests/test_highlighting.py fails while the file is not what this writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from specc.kinds import ACTIVATION_ALIASES, ACTIVATIONS
from specc.lower.statements import KEYWORD_ALIASES, OTHERS, STATEMENTS

GRAMMAR = Path(__file__).resolve().parent / "syntaxes" / "cnn.tmLanguage.json"


def _words(words: Iterable[str]) -> str:
    return r"\b(?:" + "|".join(words) + r")\b"


def _longest_first(words: Iterable[str]) -> list[str]:
    return sorted(set(words), key=lambda w: (-len(w), w))


def grammar(text: str) -> str:
    """The grammar ``text`` with its declaration, layer and activation keywords as specc knows them."""
    grammar = json.loads(text)
    repository = grammar["repository"]
    functions = {*ACTIVATIONS, *ACTIVATION_ALIASES}
    layers = [w for w in [*STATEMENTS, *KEYWORD_ALIASES] if w not in functions and w not in OTHERS]
    repository["declaration"]["match"] = _words(OTHERS)
    repository["layer"]["match"] = _words(_longest_first(layers))
    repository["activation"]["match"] = _words(_longest_first(functions))
    return json.dumps(grammar, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    GRAMMAR.write_text(grammar(GRAMMAR.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {GRAMMAR}")
