"""`specc rules` and `specc rule CODE`: the lint rules and their documentation."""

from __future__ import annotations

import argparse


def add(sub: argparse._SubParsersAction) -> None:
    pass
