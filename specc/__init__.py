"""specc: design convolutional networks in a small declarative language.

``specc.compile(text, path)`` checks a spec and returns an Analysis (no torch);
``specc.build(source)`` returns the PyTorch module that `specc compile` emits.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Analysis", "check", "compile", "compile_bytes", "__version__"]

# Imported on first use: `import specc` (and so `python -m specc`, before the CLI can
# catch a Ctrl-C) stays instant, and torch is imported only when a module is built.
_LAZY = {"Analysis": "pipeline", "check": "pipeline", "compile": "pipeline", "compile_bytes": "pipeline",
         "build": "builder"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'specc' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
