import sys

from flumepy.cli import main

sys.exit(main())
