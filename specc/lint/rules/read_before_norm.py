"""A merge or `from=` reads a conv or fc layer's output from before the norm or activation on its next line.

## What it does
Flags a reference to a conv or fc layer by its label (an operand of `add`,
`concat` or `multiply`, or `from=`) when the line right after that layer
normalises or activates it (`batchnorm`, a norm, an activation line): the
reference reads the raw output, not what the next lines make of it.

## Why is this bad?
A label names one line. `stem: conv 64 7x7 s=2` followed by `batchnorm` and
`relu` labels the convolution alone, so a later `add stem` adds the
un-normalised, un-activated tensor, and nothing fails: the shapes are the
same. In the published networks the shortcut reads the block's activated
output; reading the raw convolution is almost always a slip.

## Example
```
stem: conv 64 3x3 padding=same bias=false
batchnorm
relu
conv 64 3x3 padding=same relu
add stem                      # reads stem before its batchnorm and relu
```

## Use instead
```
conv 64 3x3 padding=same bias=false
batchnorm
stem: relu
conv 64 3x3 padding=same relu
add stem
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...analysis import LayerReport
from ...diagnostics import Diagnostic, warning
from ..view import GraphView, activation

CODE = "W107"
NAME = "read-before-norm"
DEFAULT = True


def check(graph: GraphView) -> Iterator[Diagnostic]:
    reports = graph.reports
    for index, r in enumerate(reports[:-1]):
        if not r.layer.weighted or not graph.read_by_several(r):  # one reader: the next line's
            continue
        readers = graph.successors(r)
        after = reports[index + 1]
        if after.layer.inputs != (r.layer.name,) or not _finishes(after, r):
            continue
        chain = [after]
        for a in graph.chain_after(after):
            if not _finishes(a, r):
                break
            chain.append(a)
        last = chain[-1]
        what = " and ".join(dict.fromkeys(_word(a) for a in chain))
        for reader in {id(reader): reader for reader in readers}.values():  # by identity: a report's hash is costly
            if reader is after:
                continue
            yield warning(
                CODE,
                f"{reader.layer.name} reads {r.layer.name} (line {r.layer.line}) before its {what} on line "
                f"{after.layer.line}: a label names one line, so this is {r.layer.name}'s raw output",
                reader.layer.span,
                f"label line {last.layer.line} and read that label if the output after the {what} is meant; if the raw "
                f"output is, add `# specc: ignore[{CODE}]` to this line")


def _finishes(a: LayerReport, r: LayerReport) -> bool:
    """Whether ``a`` is a normalisation or an activation line applied to what ``r`` gave."""
    return (not a.layer.weighted and activation(a.layer) is not None) or a.layer.channel_mean(r.output) is not None


def _word(a: LayerReport) -> str:
    """`relu` for an activation line, `batchnorm` for a norm."""
    return activation(a.layer) or a.layer.kind  # the chain holds no conv or fc (_finishes)
