"""``python -m nbdocker``: the same as the ``nbdocker`` command."""

import sys

from .cli import main

sys.exit(main())
