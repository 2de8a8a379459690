"""specc: design convolutional networks in a small declarative language.

The library's verbs are the command line's:

- ``specc.check(spec)`` checks a spec (a path, its text or its bytes) and
  returns an Analysis: shapes, parameters, MACs, diagnostics. No torch.
- ``specc.compile(spec)`` returns the PyTorch source `specc compile` writes. No torch.
- ``specc.build(spec)`` returns that module, built (imports torch).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import SpeccError, SpecCheckError  # noqa: E402
from .pipeline import Analysis  # noqa: E402
from .source import read as check  # noqa: E402

__all__ = ["Analysis", "SpecCheckError", "SpeccError", "build", "check", "compile", "__version__"]


def compile(spec, path: str | None = None) -> str:
    """The PyTorch source of a spec's ``nn.Module``; SpecCheckError if the spec has errors."""
    from .codegen import generate
    from .source import read_ok

    return generate(read_ok(spec, path, refusal="nothing was compiled"))


def __getattr__(name: str):
    # torch is imported only when a module is actually built (specc.build).
    if name == "build":
        from .extras import needs

        with needs("specc.build"):  # MissingExtra (an ImportError) naming specc[torch]
            from .builder import build
        return build
    raise AttributeError(f"module 'specc' has no attribute {name!r}")
