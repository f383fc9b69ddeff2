"""`python -m kft ...` is `kft ...` (e.g. under torchrun)."""

import sys

from kft.cli import main

sys.exit(main())
