"""specc: design convolutional networks in a small declarative language.

The library's verbs are the command line's:

- ``specc.check(spec)`` checks a spec (a path, its text or its bytes) and
  returns an Analysis: shapes, parameters, MACs, diagnostics. No torch.
- ``specc.compile(spec)`` returns the PyTorch source `specc compile` writes. No torch.
- ``specc.build(spec)`` returns that module, built (imports torch).
- ``specc.train(spec, data, **hyperparameters)``, ``specc.export(source, output)``
  and ``specc.load(run_dir)`` train, export and reload (:mod:`specc.api`; torch).
- ``specc.predict(run_or_onnx, arrays)`` runs a trained model on arrays: classes,
  masks, values, embeddings or verdicts, by the run's task (:mod:`specc.api`).

In IPython or Jupyter, ``%load_ext specc`` adds the ``%%specc`` cell magic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import SpeccError, SpecCheckError
from .version import __version__

if TYPE_CHECKING:
    from .analysis import Analysis
    from .api import export, load, train
    from .api.arrays import predict
    from .runtime.build import build
    from .source import read as check

__all__ = ["Analysis", "SpecCheckError", "SpeccError", "build", "check", "compile", "export", "load", "predict",
           "train", "__version__"]

# Imported on first use: `import specc` (and so `python -m specc`, before the CLI can
# catch a Ctrl-C) stays instant, and torch is imported only when a module is built.
_LAZY = {"Analysis": ("analysis", "Analysis"), "check": ("source", "read"), "load": ("api", "load"),
         "train": ("api", "train"), "export": ("api", "export"),
         "predict": ("api.arrays", "predict")}


def compile(spec, path: str | None = None) -> str:
    """The PyTorch source of a spec's ``nn.Module`` (a spec or its Analysis); SpecCheckError if it has errors."""
    from .analysis import Analysis
    from .codegen import generate
    from .source import read_ok

    if isinstance(spec, Analysis):  # as specc.build takes one: a notebook's %%specc result
        if not spec.ok:
            raise SpecCheckError(spec, "nothing was compiled")
        return generate(spec)
    return generate(read_ok(spec, path, refusal="nothing was compiled"))


def load_ipython_extension(ipython) -> None:
    """``%load_ext specc``: register the ``%%specc`` cell magic (specc.integrations.ipython)."""
    from .integrations.ipython import load

    load(ipython)


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        module, attribute = _LAZY[name]
        return getattr(import_module(f".{module}", __name__), attribute)
    if name == "build":  # torch is imported only when a module is actually built
        from .extras import needs

        with needs("specc.build"):  # MissingExtra (an ImportError) naming the torch extra
            from .runtime.build import build
        return build
    raise AttributeError(f"module 'specc' has no attribute {name!r}")
