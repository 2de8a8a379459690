"""specc: design convolutional networks in a small declarative language.

The library's verbs are the command line's:

- ``specc.check(spec)`` checks a spec (a path, its text or its bytes) and
  returns an Analysis: shapes, parameters, MACs, diagnostics. No torch.
- ``specc.compile(spec)`` returns the PyTorch source `specc compile` writes. No torch.
- ``specc.build(spec)`` returns that module, built (imports torch).
- ``specc.train(spec, data, **hyperparameters)``, ``specc.export(source, output)``
  and ``specc.load(run_dir)`` train, export and reload (:mod:`specc.api`; torch).

In IPython or Jupyter, ``%load_ext specc`` adds the ``%%specc`` cell magic.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

from .errors import SpeccError, SpecCheckError
from .version import __version__

if TYPE_CHECKING:
    from .analysis import Analysis
    from .api import export, load, train
    from .runtime.build import build
    from .source import read as check

__all__ = ["Analysis", "SpecCheckError", "SpeccError", "build", "check", "compile", "export", "load", "train",
           "__version__"]

# Imported on first use: `import specc` (and so `python -m specc`, before the CLI can
# catch a Ctrl-C) stays instant, and torch is imported only when a module is built.
_LAZY = {"Analysis": ("analysis", "Analysis"), "check": ("source", "read"), "load": ("api", "load")}


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
    """``%load_ext specc``: register the ``%%specc`` cell magic (specc.magic)."""
    from .magic import load

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
    if name in _VERBS:
        import importlib

        return importlib.import_module(f".{name}", __name__)  # made callable by _Package.__setattr__
    raise AttributeError(f"module 'specc' has no attribute {name!r}")


class _Verb(types.ModuleType):
    """The subpackages specc.train and specc.export, callable as the verbs specc.train() and specc.export().

    Importing a submodule binds its name on the package, which would hide a
    function of the same name; so the module itself answers the call, and
    `import specc.train.run`, `specc.export.ExportOptions` keep working.
    """

    def __call__(self, *args, **kwargs):
        return self._verb()(*args, **kwargs)

    @property
    def __signature__(self):  # what help(), inspect and Jupyter's `specc.train?` show
        import inspect

        return inspect.signature(self._verb())

    def _verb(self):
        from . import api

        return getattr(api, self.__name__.rpartition(".")[2])


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value) -> None:
        if name in _VERBS and type(value) is types.ModuleType:
            value.__class__ = _Verb
        super().__setattr__(name, value)


_VERBS = ("train", "export")
sys.modules[__name__].__class__ = _Package
