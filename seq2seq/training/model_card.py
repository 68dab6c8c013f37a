"""MODEL_CARD.md: what a trained model folder holds, written by `train` beside model.safetensors. It says
what the model was trained on, which types it marks, the figures of its exported epoch (on the held-out
rows of the same data), how to use it, and what it was not shown to do."""
from collections import Counter
from pathlib import Path
from typing import Sequence

from ..text.tags import is_open, marker_type
from ..utils import atomic_write
from .config import TrainConfig

__all__ = ["MODEL_CARD", "model_card", "write_model_card"]

MODEL_CARD = "MODEL_CARD.md"
_FIGURES = (("span_f1", "strict span F1 (greedy, faithful; offsets and type must match)"),
            ("token_acc", "token accuracy (teacher-forced, padding ignored)"),
            ("bleu", "BLEU"), ("chrf", "chrF"), ("valid_loss", "validation loss"))


def _types(tgt_itos: Sequence[str]) -> list:
    "The tag types the model can write, in vocabulary order."
    return [marker_type(t) for t in tgt_itos if is_open(t)]


def _span_counts(texts: Sequence[str]) -> Counter:
    "Training spans per type, from the target side's open markers."
    return Counter(marker_type(t) for text in texts for t in text.split() if is_open(t))


def model_card(cfg: TrainConfig, res: dict, meta: dict, tgt_itos: Sequence[str], train_targets: Sequence[str] = ()) -> str:
    """The card's Markdown. `res`: the run's final figures (metrics.json); `meta`: the model's meta (lang,
    src, tgt, task, config); `train_targets`: training targets as space-joined tokens, for span counts."""
    types, counts, mc = _types(tgt_itos), _span_counts(train_targets), meta["config"]
    task = ("restores inline annotations: it reads plain text and writes it back with spans marked "
            "`{{TYPE}}...{{/TYPE}}`" if meta["task"] == "restore" else "strips inline annotations from text")
    lines = [f"# Model card: {Path(cfg.out).name}", "",
             f"A sequence-to-sequence model (seq2seq-annotate, `--arch {mc['arch']}`) that {task}.", "",
             "## Training data", "",
             f"- file: `{Path(cfg.csv).name}`, columns `{meta['src']}` (input) -> `{meta['tgt']}` (output), "
             f"language `{meta['lang']}`",
             f"- {res.get('train_size', '?')} training rows ({res.get('augmented_size', 0)} of them swapped copies, "
             f"`--augment`), {res.get('valid_size', '?')} held out for validation (seed {cfg.seed})", "",
             "## Types", ""]
    if types:
        lines += ["| type | training spans |", "|---|---|"] + [f"| {t} | {counts.get(t, '')} |" for t in types]
    else:
        lines.append("none (the targets hold no markers)")
    lines += ["", "## Figures (exported epoch, on the held-out rows)", ""]
    if res.get("epochs"):
        lines += [f"Epoch {res.get('best_epoch')} of {res['epochs']} (the best by `--monitor {cfg.monitor}`), "
                  f"learning rate {res.get('lr', float('nan')):.2e}, {res.get('seconds', 0):.0f} s of training.", "",
                  "| figure | value |", "|---|---|"]
        lines += [f"| {what} | {res[k]:.4f} |" for k, what in _FIGURES if isinstance(res.get(k), (int, float))]
    else:
        lines.append("none: no epoch was trained")
    lines += ["", "The held-out rows come from the same file as the training rows: these figures say how the model "
              "does on more text like it, not on notes from elsewhere. Score it on your own annotated notes "
              "(`seq2seq-predict --ref`) before relying on it.", "",
              "## Model", "",
              "| option | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in mc.items()] + [
              "", "## Use", "",
              "```bash",
              f"seq2seq-predict --model {Path(cfg.out) / 'model.safetensors'} --csv notes.csv --out notes.annotated.csv",
              "```", "",
              "Faithful decoding (the default) gives back the input text exactly, with tags inserted.", "",
              "## Intended use and limits", "",
              "- Intended: marking the span types above in text like the training data, e.g. finding PHI in clinical "
              "notes for de-identification with a human reviewing the result (`--html` writes a review page).",
              "- Not shown: text in another language, from other institutions or of other kinds than the training "
              "file; types it was not trained on are never marked.",
              "- A redacted note keeps the PHI the model missed: no model finds every span. Check recall on your own "
              "data before publishing redacted text.",
              "- `model.safetensors` is the file to share (loading it runs no code); `export.pkl` is a pickle for "
              "fastai's `load_learner` and must only be loaded from a trusted source.", ""]
    return "\n".join(lines)


def write_model_card(out: Path, cfg: TrainConfig, res: dict, learn) -> Path:
    "Write `out`/MODEL_CARD.md for the trained `learn` (atomically)."
    y = learn.data.train_ds.y
    targets = [" ".join(y.vocab.itos[i] for i in ids) for ids in y.items]
    text = model_card(cfg, res, learn.model.meta, y.vocab.itos, targets)
    return atomic_write(Path(out) / MODEL_CARD, lambda p: p.write_text(text, encoding="utf-8"))
