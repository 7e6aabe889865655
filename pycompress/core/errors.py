"""One exception type for every user-facing failure, so the CLI can print one line."""


class PycompressError(Exception):
    """A problem with the user's input or environment, reported as one line."""
