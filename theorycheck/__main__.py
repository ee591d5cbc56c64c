import sys

try:
    from theorycheck.commands.main import main
except KeyboardInterrupt:  # Ctrl-C while the command line itself is importing
    print("theorycheck: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
