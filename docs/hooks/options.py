"""MkDocs hook: adds reference/options.md, rendered from the commands' argparse parsers.

The page is generated at every build (`seq2seq.commands.reference.options_markdown`), never
committed, so it says what `--help` says.
"""
import sys
from pathlib import Path

from mkdocs.structure.files import File

PAGE = "reference/options.md"


def on_files(files, config):
    "Add the generated options page to the site's files."
    root = str(Path(config.config_file_path).resolve().parent)
    if root not in sys.path: sys.path.insert(0, root)  # the checkout's package, installed or not
    from seq2seq.commands.reference import options_markdown
    files.append(File.generated(config, PAGE, content=options_markdown()))
    return files
