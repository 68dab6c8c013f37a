#!/usr/bin/env python
"""Train a seq2seq model that restores (or strips) inline {{TAG}}..{{/TAG}} annotations.

Reads a CSV of sentence pairs, builds fastText-initialised embeddings, runs lr_find (unless
--lr is given) and fit_one_cycle, and writes to --out: export.pkl (load it with
scripts/predict.py or seq2seq.learner.load_seq2seq), metrics.json (the exported epoch's
validation figures), metrics.jsonl and history.csv (every epoch), lr_find.png, losses.png and
metrics.png, best.pth and last.pth (see --monitor and --resume), valid.csv (held-out rows).
With no arguments it trains on the bundled data/sample.csv.

Several processes: --nproc N on one machine (N GPUs with nccl, or N CPU processes with gloo), or
start this same script with torchrun (e.g. torchrun --nproc_per_node=8 scripts/train.py ...),
on one or several machines; it then joins torchrun's process group as that rank.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib  # noqa: E402
matplotlib.use("Agg")  # plots go to files; never open a window

from seq2seq.cli import run  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--csv", default="data/sample.csv", help="CSV of sentence pairs (UTF-8, with a header)")
    p.add_argument("--src", default="orig_text", help="source column (the model reads it)")
    p.add_argument("--tgt", default="annotated_text",
                   help="target column (the model writes it); swap --src/--tgt to learn to strip tags")
    p.add_argument("--lang", default="en", help="spaCy language code for tokenization (e.g. en, es)")
    p.add_argument("--vectors", help="pretrained fastText .bin or .vec file (e.g. cc.en.300.bin); "
                                     "default: train fastText on the training text")
    p.add_argument("--epochs", type=int, default=10, help="epochs of fit_one_cycle")
    p.add_argument("--lr", type=float, help="maximum learning rate; default: the one lr_find suggests")
    p.add_argument("--bs", type=int, default=128, help="batch size")
    from seq2seq.model import ARCHS, OBJECTIVES, ModelConfig
    d = ModelConfig()
    p.add_argument("--arch", default=d.arch, choices=ARCHS,
                   help="aligned: source-aligned decoder over an open-vocabulary source (fastText sub-words + "
                        "word + shape); seed: plain GRU encoder-decoder; attention: BiGRU encoder + additive attention")
    p.add_argument("--objective", default=d.objective, choices=OBJECTIVES,
                   help="faithful: cross-entropy over the candidates faithful decoding chooses from (aligned arch); "
                        "full: over the whole target vocabulary (needed for --no-faithful decoding)")
    p.add_argument("--emb-size", type=int, default=d.emb_size,
                   help="target embedding size (= decoder hidden size, tied weights); with --arch seed/attention "
                        "also the source's, and it must match --vectors' dimension")
    p.add_argument("--hidden", type=int, default=d.hidden, help="encoder hidden size (per direction)")
    p.add_argument("--layers", type=int, default=d.layers, help="recurrent layers in encoder and decoder")
    p.add_argument("--attention", action="store_true", help="the same as --arch attention")
    p.add_argument("--cell", default="gru", choices=["gru", "lstm", "mogrifier"], help="recurrent cell")
    p.add_argument("--mogrify-steps", type=int, default=5, help="rounds of mutual gating (--cell mogrifier)")
    p.add_argument("--tf-floor", type=float, default=1.0,
                   help="teacher forcing: probability of feeding the truth decays linearly from 1 to this")
    p.add_argument("--tf-epochs", type=float, default=5, help="epochs over which teacher forcing decays")
    p.add_argument("--seed", type=int, default=42, help="random seed (split, init, fastText)")
    p.add_argument("--valid-pct", type=float, default=0.1, help="share of rows held out for validation")
    p.add_argument("--out", default="models/sample", help="output folder")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    p.add_argument("--fp16", action="store_true", help="mixed-precision training (CUDA only)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: usable cores, at most 8)")
    p.add_argument("--monitor", default="valid_loss",
                   help="value that picks the best epoch (best.pth, the exported weights) and drives --patience: "
                        "valid_loss, train_loss, token_acc, bleu, chrf or span_f1")
    p.add_argument("--patience", type=int, help="stop after this many epochs without a better --monitor value")
    p.add_argument("--resume", metavar="DIR",
                   help="continue the interrupted run in DIR from its last epoch (DIR/last.pth); give the same "
                        "data and model options; DIR is also the output folder")
    p.add_argument("--nproc", type=int, default=1,
                   help="training processes to start on this machine (data parallel; --bs is per process); "
                        "leave at 1 under torchrun")
    p.add_argument("--backend", default="auto", choices=["auto", "gloo", "nccl"],
                   help="torch.distributed backend: auto = nccl with one GPU per process when there are "
                        "enough GPUs, else gloo on CPU")
    a = p.parse_args(argv)
    for name in ("epochs", "bs", "emb_size", "hidden", "layers", "nproc", "patience", "threads"):
        if getattr(a, name) is not None and getattr(a, name) < 1: p.error(f"--{name.replace('_', '-')} must be >= 1")
    if a.resume:
        if a.out not in (p.get_default("out"), a.resume): p.error("--resume DIR writes to DIR; leave out --out")
        a.out = a.resume
    if not 0 < a.valid_pct < 1: p.error("--valid-pct must be between 0 and 1")
    if a.lr is not None and a.lr <= 0: p.error("--lr must be > 0")
    return a


def main(argv=None):
    a = parse_args(argv)
    from seq2seq.model import ModelConfig
    from seq2seq.distributed import is_main_process, run_distributed
    from seq2seq.training import TrainConfig, train
    from seq2seq.utils import seed_everything
    seed_everything(a.seed)
    cfg = TrainConfig(csv=a.csv, out=a.out, src=a.src, tgt=a.tgt, lang=a.lang, vectors=a.vectors,
                      epochs=a.epochs, lr=a.lr, bs=a.bs, valid_pct=a.valid_pct, seed=a.seed,
                      model=ModelConfig(arch=a.arch, objective=a.objective, emb_size=a.emb_size, hidden=a.hidden,
                                        layers=a.layers, attention=a.attention, cell=a.cell,
                                        mogrify_steps=a.mogrify_steps),
                      pr_force=(1.0, a.tf_floor, a.tf_epochs), device=a.device, fp16=a.fp16, threads=a.threads,
                      monitor=a.monitor, patience=a.patience, resume=a.resume)
    res = run_distributed(train, cfg, nproc=a.nproc, backend=a.backend, seed=a.seed)
    if not is_main_process(): return  # under torchrun every rank runs main(); rank 0 reports
    print("validation: " + ", ".join(f"{k} {v:.4f}" for k, v in res.items() if isinstance(v, float)))
    print(f"model written to {Path(a.out) / 'export.pkl'}")


if __name__ == "__main__":
    sys.exit(run(main))
