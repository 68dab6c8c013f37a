"""`seq2seq-predict --engine dask`: the command line's options -> an engine `Job`, run by
`engine.runner.run_job` (partitions on a Dask cluster, resumable; see docs/archives.md)."""
from ..errors import UserError

__all__ = ["run_archive"]


def run_archive(a, cfg, plain: bool) -> dict:
    """Run the predict command `a` (its parsed namespace; `cfg` its DecodeConfig) on the engine.
    plain: the plain CSV path (CSV in, prediction column, CSV out), else the document path."""
    from ..engine.partitions import Job
    from ..engine.runner import run_job
    from ..formats.writers import OutputConfig, check_outputs
    from ..training.device import set_threads
    from ..training.learner import load_seq2seq
    if a.html or a.ref or a.show:
        raise UserError("--engine dask writes predictions only: run --ref, --html or --show on its output in one process")
    if not plain and not cfg.faithful:
        raise UserError("--no-faithful: span outputs, redaction and the review page need faithful decoding")
    red = a.redact_cfg
    targets = None if plain else check_outputs(OutputConfig(a.out, a.output_format, a.overwrite, a.min_score),
                                               red.active, a.input_format != "csv")
    set_threads(a.threads or 1)
    device = None if a.device == "auto" else a.device
    learn = load_seq2seq(a.model, device=device, trust=a.trust_model_file)   # checked before any cluster starts
    job = Job(model=a.model, input=a.input, input_format=a.input_format, out=a.out, decode=cfg, plain=plain,
              formats=tuple(a.output_format), redact=red, repeats=a.repeat_cfg, min_score=a.min_score, src=a.src,
              pred_col=a.pred_col, sep={"tab": "\t", "\\t": "\t"}.get(a.sep, a.sep), overwrite=a.overwrite,
              overwrite_column=a.overwrite_column, trust=a.trust_model_file, device=device, threads=a.threads or 1)
    return run_job(job, a.engine_cfg, a.src or learn.meta["src"], targets)
