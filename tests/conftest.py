"""Shared fixtures. Test modules own their helpers; keep this file small."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
# tests/strategies.py and tests/torch_reference.py are imported as plain modules.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def specs_dir() -> Path:
    return SPECS
