"""Where the training-run callbacks used to live; they are now in `history` (metrics.jsonl, plots,
monitored values), `best` (best.pth, early stopping) and `checkpoint` (last.pth, resuming,
`monitor_callbacks`). The old names stay importable from here for code written against them."""
from .best import BEST, EarlyStop, SaveBest
from .checkpoint import LAST, LastCheckpoint, atomic_save, monitor_callbacks, read_checkpoint, resume
from .errors import CheckpointError
from .history import JSONL, JsonlLogger, SmoothLoss, best_epoch, check_monitor, monitor_mode, plot_history, valid_monitors

__all__ = ["CheckpointError", "valid_monitors", "monitor_mode", "check_monitor", "best_epoch", "atomic_save",
           "SmoothLoss", "JsonlLogger", "SaveBest", "EarlyStop", "LastCheckpoint", "monitor_callbacks",
           "read_checkpoint", "resume", "plot_history", "JSONL", "BEST", "LAST"]
