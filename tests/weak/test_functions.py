"""seq2seq/weak/functions.py: a labelling function that calls sys.exit or raises KeyboardInterrupt is
one more failing function, named and counted; a real Ctrl-C still stops the run (issue 22, case 3);
the overlap report is linear in the spans."""
import os
import signal
import threading

import pytest

from seq2seq.text.tags import Span
from seq2seq.weak.functions import LFError, apply_lfs, labelling_function, lf_report, load_lf_file, touching


@labelling_function()
def quitter(text):
    import sys
    if "quit" in text: sys.exit(0)
    return [(0, 4, "DATE")]


@labelling_function()
def interrupter(text):
    raise KeyboardInterrupt("raised by the function itself")


@labelling_function(batched=True)
def batch_quitter(texts):
    raise SystemExit(3)


def test_sys_exit_and_its_own_keyboard_interrupt_are_failures_of_that_function():
    log = []
    votes = apply_lfs(["2091 visit", "quit now", "2092 again"], [quitter, interrupter, batch_quitter], log=log.append)
    assert votes.spans["quitter"] == [[Span(0, 4, "DATE")], [], [Span(0, 4, "DATE")]]
    assert votes.errors == {"quitter": 1, "interrupter": 3, "batch_quitter": 3}
    assert "labelling function 'quitter', row 2: SystemExit: 0 (skipped)" in log
    assert any("'interrupter', row 1: KeyboardInterrupt: raised by the function itself" in m for m in log)
    assert any("'batch_quitter', rows 1-3: SystemExit: 3 (skipped)" in m for m in log)
    assert votes.failures["quitter"] == "SystemExit: 0"
    assert lf_report(votes).loc["quitter", "errors"] == 1


def test_a_real_ctrl_c_inside_a_function_still_stops_the_run():
    @labelling_function()
    def slow(text):
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
        threading.Event().wait(5)      # the signal arrives while the function runs
        return []
    with pytest.raises(KeyboardInterrupt):
        apply_lfs(["a"], [slow], log=pytest.fail)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # the handler is put back


def test_failures_beyond_the_first_few_are_counted_not_logged():
    log = []
    votes = apply_lfs([f"quit {i}" for i in range(50)], [quitter], log=log.append)
    assert votes.errors["quitter"] == 50 and len(log) == 3 and "counted, not shown" in log[-1]


def test_a_file_that_exits_on_import_is_a_bad_file(tmp_path):
    f = tmp_path / "lfs.py"
    f.write_text("import sys\nsys.exit(0)\n")
    with pytest.raises(LFError, match=r"--lf .*lfs.py: failed to import: SystemExit: 0"):
        load_lf_file(f)


def test_touching_finds_every_overlap_across_functions_only():
    row = {"a": [Span(0, 5, "X"), Span(10, 20, "X")], "b": [Span(3, 12, "Y")], "c": [Span(20, 25, "Z")]}
    t = touching(row)
    assert sorted(t[("b", Span(3, 12, "Y"))]) == [("a", Span(0, 5, "X")), ("a", Span(10, 20, "X"))]
    assert ("c", Span(20, 25, "Z")) not in t and t[("a", Span(0, 5, "X"))] == [("b", Span(3, 12, "Y"))]
