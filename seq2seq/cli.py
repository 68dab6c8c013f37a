"""What the commands share: turning the user's errors into one clear line and exit code 2."""
import sys

from .errors import UserError

__all__ = ["run"]


def run(main, argv=None) -> int:
    """Call `main(argv)`; on a user error (`UserError`, `OSError`) print `error: ...` to stderr and
    return 2, on Ctrl-C print `interrupted` and return 130. Anything else is a bug: its traceback shows."""
    try:
        main(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (UserError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
