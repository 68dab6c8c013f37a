"""The project's own error base: what a user got wrong (input, options, files), never a bug.

Scripts print a `UserError` as one line and exit 2 (see `cli.run`); anything else shows its
traceback. It subclasses ValueError so `except ValueError` callers keep working.
"""

__all__ = ["UserError"]


class UserError(ValueError):
    "Bad input, options or files; the message names the file, row, column or parameter."
