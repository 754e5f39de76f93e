#!/usr/bin/env python
"""python compare.py: the command line, from a checkout. Installed, the same command is `mlp-crosscheck`.

It lives in lockstep/cli.py; `python compare.py --help` lists every flag with its default.
"""

import sys

from lockstep.cli import main

if __name__ == "__main__":
    sys.exit(main())
