"""The lint rules, one per module: CODE, NAME, DEFAULT, ``check(graph)`` and a
docstring that is the rule's documentation. Listed in :mod:`specc.lint.registry`."""
