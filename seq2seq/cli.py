"""What the scripts share: finding the package, and turning known errors into one clear line."""
import sys

__all__ = ["run"]


def _user_errors() -> tuple:
    "Exceptions that mean bad input (printed as one line), not a bug (printed with a traceback)."
    from .data import DataError
    from .emb import EmbeddingFileError
    from .tags import TagError
    from .learner import ModelFileError
    return (DataError, TagError, EmbeddingFileError, ModelFileError, OSError, ValueError)


def run(main, argv=None) -> int:
    "Call `main(argv)`; on a user error print `error: ...` to stderr and return 2."
    try:
        main(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except _user_errors() as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
