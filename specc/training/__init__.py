"""Training a spec's module: ``specc.training.train(Request) -> Result``.

Modules: config (hyperparameters and their defaults), sources and data (where
data comes from, checked against the spec), loop (epochs, optimizer, loss),
distributed (torchrun), inputs (one tensor per input for a spec with several),
setup (everything decided before the first step),
run (the whole run), runlog, plots and progress (what a run writes and prints).
Imports torch: only `specc train` and the library load it.
"""

from .run import Request, Result, train

__all__ = ["Request", "Result", "train"]
