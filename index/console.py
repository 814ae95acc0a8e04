"""Messages for people go to stderr, so stdout stays clean for results (`qa search --json`)."""

import sys


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
