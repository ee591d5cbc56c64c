import sys

from theorycheck.commands.main import main

sys.exit(main())
