"""The options reference: every command's options as Markdown, read off its own argparse parser.

The commands build their parsers from the config dataclasses (`seq2seq.config.add_options`), so a
page rendered from the parsers says what `--help` says and cannot drift from it. The docs site
renders `options_markdown()` at build time (docs/hooks/options.py) as reference/options.md.
"""
import argparse
import importlib

__all__ = ["COMMANDS", "command_parser", "options_markdown"]

# (module, script in a checkout), in the order of the page
COMMANDS = (("seq2seq.commands.train", "scripts/train.py"),
            ("seq2seq.commands.predict", "scripts/predict.py"),
            ("seq2seq.commands.convert", "scripts/convert.py"),
            ("seq2seq.commands.weak_label", "scripts/weak_label.py"),
            ("seq2seq.commands.reidentify", "scripts/reidentify.py"),
            ("seq2seq.commands.serve", "scripts/serve.py"))


def command_parser(module_name: str) -> argparse.ArgumentParser:
    "The argparse parser of a command module (its `parser()`)."
    return importlib.import_module(module_name).parser()


def _md(text: str) -> str:
    "Text for a Markdown table cell: one line, no character that Markdown or HTML would read."
    text = " ".join(str(text).split())
    for ch in "\\`*_[]|":
        text = text.replace(ch, "\\" + ch)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    "A code span (Markdown's tables keep a pipe inside a code span in its cell)."
    text = str(text)
    tick = "``" if "`" in text else "`"
    return f"{tick}{text}{tick}"


def _help(action: argparse.Action, prog: str) -> str:
    "The action's help with argparse's %-placeholders filled in, as `--help` prints it."
    if not action.help or action.help == argparse.SUPPRESS: return ""
    params = {k: v for k, v in dict(vars(action), prog=prog).items() if v is not argparse.SUPPRESS}
    params = {k: getattr(v, "__name__", v) for k, v in params.items()}
    if params.get("choices") is not None: params["choices"] = ", ".join(map(str, params["choices"]))
    return action.help % params if "%" in action.help else action.help


def _metavar(action: argparse.Action) -> str:
    "The value part of the flag column (`DIR`, `[REF]`, `N [N ...]`); empty for flags and choices."
    if action.nargs == 0 or action.choices is not None or not action.option_strings: return ""
    mv = action.metavar or (action.dest.upper() if action.option_strings else action.dest)
    if isinstance(mv, tuple): mv = " ".join(mv)
    return {None: mv, "?": f"[{mv}]", "+": f"{mv} [{mv} ...]", "*": f"[{mv} ...]"}.get(action.nargs, mv)


def _default(action: argparse.Action) -> str:
    "The default as `--help` shows it; empty for flags and for None, SUPPRESS, [] and \"\"."
    d = action.default
    if action.nargs == 0 or d is None or d is argparse.SUPPRESS or d in ([], "") or isinstance(d, bool): return ""
    return _code(d)


def _row(action: argparse.Action, prog: str) -> str:
    "One table row: flag | default | meaning (choices listed)."
    flag = ", ".join(action.option_strings) or action.dest  # a positional argument: its name
    mv = _metavar(action)
    meaning = _md(_help(action, prog))
    if action.choices is not None:
        several = " (one or more)" if action.nargs in ("+", "*") else ""
        if meaning and meaning[-1] not in ".:;!?": meaning += "."
        meaning += f"{' ' if meaning else ''}Choices{several}: " + ", ".join(_code(c) for c in action.choices) + "."
    if action.required and action.option_strings: meaning = "**Required.** " + meaning
    return f"| {_code(flag + (' ' + mv if mv else ''))} | {_default(action)} | {meaning} |"


def _first_paragraph(text: str) -> str:
    "The first paragraph of a description, on one line."
    return " ".join((text or "").strip().split("\n\n")[0].split())


def command_markdown(module_name: str, script: str) -> str:
    "The section of one command: its name, the first paragraph of its description, its options, its epilog."
    p = command_parser(module_name)
    lines = [f"## `{p.prog}`", "", f"`{script}` in a checkout runs the same program.", "",
             _md(_first_paragraph(p.description)), "",
             "| option | default | meaning |", "|---|---|---|"]
    lines += [_row(a, p.prog) for a in p._actions]
    if p.epilog:
        lines += ["", "From the end of `--help`:", "", "```text", p.epilog.strip("\n"), "```"]
    return "\n".join(lines) + "\n"


def options_markdown() -> str:
    "The whole options page: one section per command (`seq2seq-train`, -predict, -convert, -weak-label, -serve)."
    head = ["# Options reference", "",
            "Every option of every command, generated when the docs are built from the commands' own "
            "argparse parsers (which are built from the config dataclasses), so this page says what "
            "`--help` says. A flag whose default column is empty defaults to off, or to what its "
            "meaning says.", ""]
    return "\n".join(head) + "\n" + "\n".join(command_markdown(m, s) for m, s in COMMANDS)
