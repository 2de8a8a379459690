"""specc's version, written here and nowhere else: the package root re-exports it
(``specc.__version__``) and the wheel's metadata reads it (pyproject.toml,
``[tool.hatch.version]``)."""

__version__ = "0.1.0"
