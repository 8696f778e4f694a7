"""`python -m rnntui` entry point."""

import sys

from rnntui.cli.entry import main

if __name__ == "__main__":
    sys.exit(main())
