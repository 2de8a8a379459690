"""What a spec says about its input and output, as training reads it (specc.training.setup.spec_io
makes it): the shapes, the classes, the lines to cite. Tasks (specc.training.tasks) and the data
checks (specc.training.data) both read it."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..runtime.samples import Entry


@dataclass(frozen=True)
class SpecIO:
    """What the spec says about its input and output, with the lines to cite."""

    shape: tuple[int, ...]  # (H, W, C) or (F,)
    input_line: int
    outputs: int
    output_line: int
    binary: bool  # one sigmoid output: labels 0/1, BCE loss
    inputs: tuple[Entry, ...] = ()  # every input when the spec has several (the first is shape, input_line)
    output: tuple[int, ...] = field(default=())  # the output's shape, (K,) or (H, W, K); () reads (outputs,)
    final: str | None = field(default=None)  # the spec's final activation

    def __post_init__(self) -> None:
        if not self.output:
            object.__setattr__(self, "output", (self.outputs,))
        if self.final is None and self.binary:
            object.__setattr__(self, "final", "sigmoid")

    @property
    def classes(self) -> int:
        return 2 if self.binary else self.outputs
