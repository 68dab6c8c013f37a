"""The command-line programs: `seq2seq-train`, `seq2seq-predict`, `seq2seq-convert` (installed by
pip) and scripts/*.py (the same `main`s, for a checkout). Each module has `parse_args`, `main(argv)`
and `console()`, the installed entry point that exits through `cli.run` (code 2 on a user error)."""
