"""What an editor needs from the raw text, even while it does not parse: labels,
block definitions and their scopes, and the word under the cursor.

A line-by-line scan, deliberately simpler than the grammar: a label is a name
followed by `:` at the start of a line, a block is `block NAME(params) {`
up to the line holding the matching `}`. Positions are 0-based lines and
code-point columns; converting them to the client's units is the server's job.
Pure Python, no pygls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_LABEL = re.compile(rf"^\s*({NAME})\s*:")
_BLOCK = re.compile(rf"^\s*block\s+({NAME})\s*\(([^)]*)\)?")
_WORD = re.compile(r"[A-Za-z0-9_.]+")


@dataclass(frozen=True)
class Place:
    """A name where it is written: 0-based line, start and end columns (end exclusive)."""

    name: str
    line: int
    start: int
    end: int


@dataclass(frozen=True)
class Block:
    """``block NAME(params) { ... }``: its name, parameter names and the lines it spans."""

    place: Place
    params: tuple[str, ...]
    first: int  # the definition line
    last: int  # the line with the closing brace (the file's last line while it is unclosed)

    def holds(self, line: int) -> bool:
        return self.first <= line <= self.last


def code(line: str) -> str:
    """The line without its comment."""
    cut = line.find("#")
    return line if cut < 0 else line[:cut]


def blocks(lines: list[str]) -> list[Block]:
    """Every block definition, with the lines of its body."""
    found, index = [], 0
    while index < len(lines):
        match = _BLOCK.match(code(lines[index]))
        if not match:
            index += 1
            continue
        params = tuple(p.split("=")[0].strip() for p in match.group(2).split(",") if p.split("=")[0].strip())
        last = _closing(lines, index, match.end())
        found.append(Block(Place(match.group(1), index, match.start(1), match.end(1)), params, index, last))
        index = last + 1
    return found


def _closing(lines: list[str], first: int, after: int) -> int:
    depth = 0
    for number in range(first, len(lines)):
        text = code(lines[number])[after if number == first else 0:]
        for char in text:
            depth += (char == "{") - (char == "}")
            if char == "}" and depth <= 0:
                return number
    return len(lines) - 1


def labels(lines: list[str]) -> list[Place]:
    """Every `name:` at the start of a line, in source order."""
    found = []
    for number, line in enumerate(lines):
        match = _LABEL.match(code(line))
        if match:
            found.append(Place(match.group(1), number, match.start(1), match.end(1)))
    return found


def scope(all_blocks: list[Block], line: int) -> Block | None:
    """The block whose body holds ``line``, or None at the top level."""
    return next((b for b in all_blocks if b.holds(line)), None)


def visible(lines: list[str], line: int) -> list[Place]:
    """Labels a reference on ``line`` may name: those of its own scope, defined above it."""
    all_blocks = blocks(lines)
    here = scope(all_blocks, line)
    return [p for p in labels(lines) if p.line < line and scope(all_blocks, p.line) == here]


def word_at(line: str, character: int) -> Place | None:
    """The dotted word (`d1.skip`) touching ``character`` on ``line`` (its line field is 0)."""
    for match in _WORD.finditer(code(line)):
        if match.start() <= character <= match.end():
            return Place(match.group(), 0, match.start(), match.end())
    return None


def part_at(word: Place, character: int) -> str:
    """The dotted word up to and including the part under ``character``: `d1` for the cursor on `d1` of `d1.skip`."""
    parts, start = word.name.split("."), word.start
    for index, part in enumerate(parts):
        if character <= start + len(part):
            return ".".join(parts[: index + 1])
        start += len(part) + 1
    return word.name
