"""seq2seq/commands/cli.py: SIGTERM is handled like SIGINT (exit 143, one line, no temp file left)."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A script that writes OUT through temp_beside and is killed while the temp file exists.
_WRITER = """
import sys, time
from pathlib import Path
from seq2seq.commands.cli import run
from seq2seq.utils import temp_beside

def main(argv):
    with temp_beside(Path(argv[0])) as tmp:
        tmp.write_text("half")
        print("writing", flush=True)
        time.sleep(60)

sys.exit(run(main, sys.argv[1:]))
"""


def _start(out: Path):
    # SIGINT at its default in the child: a shell starts background jobs with it ignored, and Python
    # then installs no KeyboardInterrupt handler (the test would wait out the child's sleep)
    p = subprocess.Popen([sys.executable, "-c", _WRITER, str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert p.stdout.readline().strip() == "writing"  # the temp file exists now
    assert [f.name for f in out.parent.iterdir() if f.name.startswith(f".{out.name}-")]
    return p


@pytest.mark.parametrize("sig, code, msg", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                            (signal.SIGINT, 130, "interrupted")])
def test_a_signal_exits_with_one_line_and_leaves_nothing(tmp_path, sig, code, msg):
    out = tmp_path / "out.csv"
    p = _start(out)
    p.send_signal(sig)
    assert p.wait(timeout=30) == code
    err = p.stderr.read().strip().splitlines()
    assert err and err[-1].startswith(msg) and len(err) == 1, err
    assert list(tmp_path.iterdir()) == []


def test_kill_9_leaves_a_temp_file_that_the_next_write_removes(tmp_path):
    from seq2seq.utils import atomic_write
    out = tmp_path / "out.csv"
    p = _start(out)
    p.kill()
    p.wait(timeout=30)
    time.sleep(0.1)
    left = [f for f in tmp_path.iterdir() if f.name.startswith(".out.csv-")]
    assert len(left) == 1  # what kill -9 leaves
    atomic_write(out, lambda t: t.write_text("done"))
    assert sorted(f.name for f in tmp_path.iterdir()) == ["out.csv"] and out.read_text() == "done"
