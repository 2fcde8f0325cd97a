"""`python -m lrs` is `lrs`."""

import sys

from lrs.cli import main

sys.exit(main())
