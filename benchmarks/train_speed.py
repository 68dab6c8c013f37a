"""Training speed of our models against a step-by-step decoder and the trained model's matmul floor.

One run times, on the same random batches and sizes, a training step (forward, loss, backward,
Adam step) of:

- `reference`: `StepLoopSeq2Seq` below, the seed notebook's design (GRU encoder, linear bridge,
  GRU decoder called once per target token in a Python loop, tied output layer), teacher-forced
  by feeding the true token at each step;
- `full_forcing`: our model at `pr_force=1` (one decoder GRU call over the whole target);
- `pr_force_0.5`: our model at `pr_force=0.5` (the step loop of `Seq2SeqRNN.forward`);
- `attention`: our model with attention, full forcing;
- `faithful`: the default model (`--arch aligned`, seq2seq/models/aligned.py) at the same sizes, trained
  on the faithful (candidate) objective, `--markers` tag markers in its target vocabulary;
- `faithful_floor`: the matmuls of that model alone (encoder, projections, decoder, candidate
  logits: each shape timed on its own, forward once and backward twice), i.e. the most target
  tokens per second the model actually trained allows on this machine; `fraction_of_floor` is
  the share of it that `faithful` reaches.

Variants are interleaved (A B C D E, A B C D E, ...) so that machine noise hits them alike;
`tokens_per_s` is the best repeat of each (noise only ever adds time), `tokens_per_s_median`
the median. The last printed line is one JSON object.

    python benchmarks/train_speed.py --repeats 3
"""
import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]

from seq2seq.config import add_options  # noqa: E402
from seq2seq.models.losses import seq2seq_loss  # noqa: E402
from seq2seq.models.config import ModelConfig  # noqa: E402
from seq2seq.models.rnn import get_seq2seq_model  # noqa: E402

__all__ = ["StepLoopSeq2Seq", "measure", "main"]

BOS, EOS, PAD = 2, 3, 1  # fastai's xxbos, xxeos, xxpad
GOALS = {"speedup_vs_step_loop": 4.0, "faithful_vs_step_loop": 4.0, "fraction_of_floor": 0.75}


class StepLoopSeq2Seq(nn.Module):
    """The seed notebook's encoder-decoder, teacher-forced, decoding one token per GRU call.

    Layers, sizes, dropouts and parameter names are those of `Seq2SeqRNN` without attention, so
    `load_state_dict` moves weights between the two and the only difference timed is the loop.
    """

    def __init__(self, voc_src: int, voc_tgt: int, em: int, nh: int, nl: int):
        super().__init__()
        self.emb_enc = nn.Embedding(voc_src, em, padding_idx=PAD)
        self.emb_dec = nn.Embedding(voc_tgt, em, padding_idx=PAD)
        self.emb_enc_drop, self.emb_dec_drop = nn.Dropout(0.15), nn.Dropout(0.1)
        drop_enc, drop_dec = (0.25, 0.1) if nl > 1 else (0.0, 0.0)
        self.rnn_enc = nn.GRU(em, nh, nl, batch_first=True, dropout=drop_enc)
        self.enc_to_dec = nn.Linear(nh, em, bias=False)
        self.rnn_dec = nn.GRU(em, em, nl, batch_first=True, dropout=drop_dec)
        self.out_drop = nn.Dropout(0.35)
        self.out = nn.Linear(em, voc_tgt)
        self.out.weight = self.emb_dec.weight

    def forward(self, src, tgt_in):
        "src (bs, sl), tgt_in (bs, tl) -> logits (bs, tl, voc_tgt); the true token is fed at every step."
        _, hid = self.rnn_enc(self.emb_enc_drop(self.emb_enc(src)))
        hid = self.enc_to_dec(hid)                                          # (nl, bs, em)
        res = []
        for i in range(tgt_in.size(1)):
            out, hid = self.rnn_dec(self.emb_dec_drop(self.emb_dec(tgt_in[:, i:i + 1])), hid)  # (bs, 1, em)
            res.append(self.out(self.out_drop(out[:, 0])))
        return torch.stack(res, 1)


def _parse(argv):
    "Command-line options (see the module docstring)."
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # --emb-size --hidden --layers, as in training
    add_options(p, ModelConfig, skip=("attention", "cell", "mogrify_steps", "drop_mult", "arch", "objective", "sub_dim",
                                      "buckets", "word_dim", "shape_dim", "word_drop"))
    p.add_argument("--bs", type=int, default=64, help="batch size")
    p.add_argument("--vocab", type=int, default=10000, help="source and target vocabulary size")
    p.add_argument("--src-len", type=int, default=30)
    p.add_argument("--tgt-len", type=int, default=40)
    p.add_argument("--steps", type=int, default=5, help="timed training steps per variant per repeat")
    p.add_argument("--repeats", type=int, default=3, help="interleaved rounds over all variants")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--device", default="cpu", help="cpu, or cuda when available")
    p.add_argument("--markers", type=int, default=42, help="tag markers (opening + closing) of the faithful model")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def _batches(args, device, n: int = 4):
    "`n` random batches `(src, tgt_in, tgt_out)` of real (non-pad) ids; targets start with BOS."
    res = []
    for _ in range(n):
        src = torch.randint(4, args.vocab, (args.bs, args.src_len))
        tgt = torch.randint(4, args.vocab, (args.bs, args.tgt_len + 1))
        tgt[:, 0] = BOS
        res.append(tuple(t.to(device) for t in (src, tgt[:, :-1], tgt[:, 1:])))
    return res


def _train_step(model):
    "A function doing one training step of `model` (train mode, Adam) on a batch."
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(src, tgt_in, tgt_out):
        opt.zero_grad()
        seq2seq_loss(model(src, tgt_in), tgt_out, PAD).backward()
        opt.step()
    return step


def _ours(args, device, pr_force=1.0, attention=False):
    "Our `Seq2SeqRNN` at the benchmark's sizes."
    cfg = ModelConfig(emb_size=args.emb_size, hidden=args.hidden, layers=args.layers, attention=attention)
    embs = [nn.Embedding(args.vocab, args.emb_size, padding_idx=PAD) for _ in range(2)]
    model = get_seq2seq_model(cfg, *embs, bos_idx=BOS, eos_idx=EOS, pad_idx=PAD).to(device)
    model.pr_force = pr_force
    return model


def _aligned(args, device):
    "The default (aligned, faithful) model at the benchmark's sizes, over a vocabulary with `args.markers` markers."
    from seq2seq.models.aligned import AlignedSeq2Seq
    from seq2seq.models.losses import CandidateLoss
    n_types = args.markers // 2
    words = [f"w{i}" for i in range(args.vocab - 4 - 2 * n_types)]
    marks = [m for i in range(n_types) for m in (f"{{{{T{i}}}}}", f"{{{{/T{i}}}}}")]
    itos = ["xxunk", "xxpad", "xxbos", "xxeos"] + words + marks
    cfg = ModelConfig(emb_size=args.emb_size, hidden=args.hidden, layers=args.layers)
    model = AlignedSeq2Seq(cfg, itos, itos).to(device)
    model.train()
    opt, loss = torch.optim.Adam(model.parameters(), lr=1e-3), CandidateLoss(model.gold_columns())

    def step(src, tgt_in, tgt_out):
        opt.zero_grad()
        loss(model(src, tgt_in), tgt_out).backward()
        opt.step()
    return step, model


def _matmuls(args, model):
    "(m, k, n, count) of every matmul in the aligned model's forward pass at the benchmark's sizes."
    cfg, bs, sl, tl = model.cfg, args.bs, args.src_len, args.tgt_len
    nh, em, C = cfg.hidden, cfg.emb_size, len(model.cand_ids) + 1
    in_sz = cfg.sub_dim + cfg.word_dim + cfg.shape_dim + cfg.char_dim
    res = ([(bs * sl * model.src_chars.size(1), model.char_conv.in_features, cfg.char_dim, 1)]  # character windows
           if cfg.char_dim else [])                                                            # (at most bs * sl words)
    for l in range(cfg.layers):       # bidirectional encoder: input projection over the sequence, recurrence per step
        res += [(bs * sl, in_sz if l == 0 else 2 * nh, 3 * nh, 2),
                (bs, nh, 3 * nh, 2 * sl)]
    res += [(bs * (sl + 1), 2 * nh, em, 1)]                                   # ctx projection
    for l in range(cfg.layers):
        res += [(bs * tl, 2 * em if l == 0 else em, 3 * em, 1), (bs, em, 3 * em, tl)]
    res += [(bs * tl, em, C, 1)]                                              # candidate logits
    return res


def _floor_step(args, device, model):
    """The aligned model's own matmuls alone, each shape once forward and twice backward (input
    and weight gradients), at the speed this machine does them."""
    shapes = _matmuls(args, model)
    mats = [(torch.randn(m, k, device=device), torch.randn(k, n, device=device), torch.randn(m, n, device=device), c)
            for m, k, n, c in shapes]

    def step(*batch):
        for a, b, g, c in mats:
            for _ in range(c):
                _ = a @ b          # forward
                _ = g @ b.t()      # input grad
                _ = a.t() @ g      # weight grad
    return step


def _variants(args, device):
    "Name -> training-step function, in the order they are timed."
    ref = StepLoopSeq2Seq(args.vocab, args.vocab, args.emb_size, args.hidden, args.layers).to(device)
    faithful, model = _aligned(args, device)
    return {"reference": _train_step(ref),
            "full_forcing": _train_step(_ours(args, device)),
            "pr_force_0.5": _train_step(_ours(args, device, pr_force=0.5)),
            "attention": _train_step(_ours(args, device, attention=True)),
            "faithful": faithful,
            "faithful_floor": _floor_step(args, device, model)}


def _time(step, batches, steps, sync) -> float:
    "Seconds per step over `steps` steps, cycling through `batches`."
    sync()
    t0 = time.perf_counter()
    for i in range(steps): step(*batches[i % len(batches)])
    sync()
    return (time.perf_counter() - t0) / steps


def measure(args) -> dict:
    """Time every variant on the same batches, interleaved; return the JSON-ready result dict.

    `args` holds the command-line options (see `main`). Each variant first runs one untimed step.
    """
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.manual_seed(args.seed)
    batches, variants = _batches(args, device), _variants(args, device)
    for step in variants.values(): step(*batches[0])                      # warm-up: allocations, lazy init
    secs = {k: [] for k in variants}
    for _ in range(args.repeats):
        for k, step in variants.items(): secs[k].append(_time(step, batches, args.steps, sync))
    toks = args.bs * args.tgt_len
    best = {k: toks / min(v) for k, v in secs.items()}
    res = {"tokens_per_s": best,
           "tokens_per_s_median": {k: toks / statistics.median(v) for k, v in secs.items()},
           "seconds_per_step": {k: min(v) for k, v in secs.items()},
           "speedup_vs_step_loop": best["full_forcing"] / best["reference"],
           "faithful_vs_step_loop": best["faithful"] / best["reference"],
           "fraction_of_floor": best["faithful"] / best["faithful_floor"]}
    res["goals_met"] = {k: res[k] >= g for k, g in GOALS.items()}
    res.update(peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               threads=torch.get_num_threads(), device=str(device),
               config={k: getattr(args, k) for k in ("emb_size", "hidden", "layers", "bs", "vocab", "src_len",
                                                     "tgt_len", "markers", "steps", "repeats", "seed")})
    return res


def _table(res) -> str:
    "The result as an aligned text table, one row per variant."
    ref, floor = res["tokens_per_s"]["reference"], res["tokens_per_s"]["faithful_floor"]
    rows = [f"{'variant':<15}{'tok/s best':>12}{'tok/s med':>12}{'ms/step':>10}{'x ref':>8}{'of floor':>10}"]
    for k, v in res["tokens_per_s"].items():
        rows.append(f"{k:<15}{v:>12.0f}{res['tokens_per_s_median'][k]:>12.0f}"
                    f"{1000 * res['seconds_per_step'][k]:>10.1f}{v / ref:>8.2f}{v / floor:>10.1%}")
    return "\n".join(rows)


def main(argv=None) -> dict:
    "Parse `argv`, run the benchmark, print a table then the result as one JSON line; return the result."
    args = _parse(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("cuda is not available: running on cpu")
        args.device = "cpu"
    if args.threads: torch.set_num_threads(args.threads)
    res = measure(args)
    print(_table(res))
    print(f"full forcing: {res['speedup_vs_step_loop']:.2f}x the step loop (goal {GOALS['speedup_vs_step_loop']}x); "
          f"faithful (default model): {res['faithful_vs_step_loop']:.2f}x the step loop (goal "
          f"{GOALS['faithful_vs_step_loop']}x), {res['fraction_of_floor']:.0%} of its own matmul floor "
          f"(goal {GOALS['fraction_of_floor']:.0%}); "
          f"peak RSS {res['peak_rss_mb']:.0f} MB, {res['threads']} threads")
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
