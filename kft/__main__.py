"""`python -m kft ...` is `kft ...` (e.g. under torchrun)."""

import sys

from kft.commands.cli import main

sys.exit(main())
