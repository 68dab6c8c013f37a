"""What the scripts share: finding the package, and turning known errors into one clear line."""
import signal
import sys
import threading

__all__ = ["run", "Terminated"]


class Terminated(KeyboardInterrupt):
    "SIGTERM (kill, timeout, Docker, Slurm), raised where the program is, so cleanup runs as for Ctrl-C."


def _on_sigterm(signum, frame):
    raise Terminated()


def _user_errors() -> tuple:
    "Exceptions that mean bad input (printed as one line), not a bug (printed with a traceback)."
    from .data import DataError
    from .emb import EmbeddingFileError
    from .tags import TagError
    from .learner import ModelFileError
    return (DataError, TagError, EmbeddingFileError, ModelFileError, OSError, ValueError)


def run(main, argv=None) -> int:
    """Call `main(argv)`; on a user error print `error: ...` to stderr and return 2.

    SIGTERM is handled like SIGINT: temporary files are removed on the way out; exit 143 (130 for SIGINT).
    """
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
    except _user_errors() as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if main_thread: signal.signal(signal.SIGTERM, old)
    return 0
