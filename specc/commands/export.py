"""`specc export` (not yet built)."""

import argparse


def add(sub: argparse._SubParsersAction) -> None:
    pass
