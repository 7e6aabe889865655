import sys

try:
    from pycompress.cli.main import main
except KeyboardInterrupt:  # Ctrl-C while torch and numpy load: one line, not a traceback
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # nor a second Ctrl-C while it is written
    print("pycompress: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
