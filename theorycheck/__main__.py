import sys

try:
    from theorycheck.commands.main import main
except KeyboardInterrupt:  # Ctrl-C while the command line itself is importing
    print("theorycheck: interrupted", file=sys.stderr)
    sys.exit(130)

if __name__ == "__main__":  # spawned worker processes import this module without running it
    sys.exit(main())
