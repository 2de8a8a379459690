"""`python -m specc` (also what torchrun runs: `torchrun -m specc train ...`)."""

import sys

from .cli import main

sys.exit(main())
