"""What the commands share: turning the user's errors into one clear line and exit code 2."""
import signal
import sys
import threading

from ..errors import UserError

__all__ = ["run", "Terminated"]


class Terminated(KeyboardInterrupt):
    "SIGTERM (kill, timeout, Docker, Slurm), raised where the program is, so cleanup runs as for Ctrl-C."


def _on_sigterm(signum, frame):
    raise Terminated()


def run(main, argv=None) -> int:
    """Call `main(argv)`; on a user error (`UserError`, `OSError`) print `error: ...` to stderr and
    return 2, on Ctrl-C print `interrupted` and return 130, on SIGTERM (handled like Ctrl-C: temporary
    files are removed on the way out) print one line and return 143. Anything else is a bug: its
    traceback shows."""
    main_thread = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    try:
        main(argv)
    except Terminated:
        print("terminated (SIGTERM); no partial output left", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (UserError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if main_thread: signal.signal(signal.SIGTERM, old)
    return 0
