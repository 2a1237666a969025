"""``python -m liqspec``: the same as the ``liqspec`` command."""

import sys

from liqspec.cli import main

sys.exit(main())
