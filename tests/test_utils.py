"""seq2seq/utils.py: stale temp files of dead processes are removed, live ones kept."""
import os

from seq2seq.utils import atomic_write, remove_stale_temps


def test_only_temps_of_dead_processes_are_removed(tmp_path):
    out = tmp_path / "we[ird]*name.csv"
    dead, live = tmp_path / f".{out.name}-999999999-ab.tmp", tmp_path / f".{out.name}-{os.getppid()}-cd.tmp"
    other, old_style = tmp_path / ".other.csv-999999999-ef.tmp", tmp_path / f".{out.name}-zz.tmp"
    for p in (dead, live, other, old_style): p.write_text("x")
    assert remove_stale_temps(out) == [dead]
    atomic_write(out, lambda t: t.write_text("ok"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, live.name, other.name, old_style.name])
