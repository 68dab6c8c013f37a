"""The project's own errors: what a user got wrong (input, options, files), never a bug.

Scripts print a `UserError` as one line and exit 2 (see `cli.run`); anything else shows its
traceback. `UserError` subclasses ValueError so `except ValueError` callers keep working. The
modules that raise these errors re-export them (e.g. `seq2seq.errors.DataError`).
"""
from typing import Optional

__all__ = ["UserError", "ConfigError", "DataError", "TagError", "EmbeddingFileError", "ModelFileError",
           "CheckpointError", "ConvertError"]


class UserError(ValueError):
    "Bad input, options or files; the message names the file, row, column or parameter."


class ConfigError(UserError):
    """A bad option value. `template` has one `{}` per parameter named in `names`, so that the
    command line can say `--beam-size` where the library says `beam_size` (see `message`)."""

    def __init__(self, template: str, *names: str):
        self.template, self.names = template, names
        super().__init__(template.format(*names))

    def message(self, flags: dict) -> str:
        "The message with each parameter name replaced by `flags[name]` (when there)."
        return self.template.format(*(flags.get(n, n) for n in self.names))


class DataError(UserError):
    "Bad input data; the message names the file, column or row."


class TagError(UserError):
    "Malformed inline annotation; `pos` is the char offset of the problem when known."

    def __init__(self, msg: str, pos: Optional[int] = None):
        super().__init__(msg)
        self.pos = pos


class EmbeddingFileError(UserError):
    "A vectors file that is neither a fastText `.bin` model nor a `.vec` text file."

    def __init__(self, path, reason: str):
        super().__init__(f'vectors file {path} is not a fastText .bin or .vec file: {reason}')
        self.path, self.reason = path, reason


class ModelFileError(UserError):
    "A model file that is missing, not an export of this tool, or from an incompatible version."


class CheckpointError(ModelFileError):
    "A checkpoint that is missing, corrupt or incomplete, or not a `last.pth` of this tool."


class ConvertError(UserError):
    "A problem with the input: fatal from `convert`, or one bad document when a reader has no report."
