import sys

try:
    from pycompress.cli.main import main
except KeyboardInterrupt:  # Ctrl-C while torch and numpy load: one line, not a traceback
    print("pycompress: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
