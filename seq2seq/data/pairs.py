"""Sentence pairs -> fastai data: reading CSVs safely, `Seq2SeqTextList`, `Seq2SeqDataBunch`.

A batch is `((src, tgt_in), tgt_out)`: `src` (bs, sl) right-padded source ids, `tgt_in` the
target from BOS without its last token and `tgt_out` the target shifted by one (ending in
EOS), both (bs, tl). The model reads `(src, tgt_in)`; loss and metrics compare with `tgt_out`.
"""
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from .. import compat  # noqa: F401  (before fastai)
from fastai.basic_data import DataBunch
from fastai.data_block import df_names_to_idx
from fastai.text.data import NumericalizeProcessor, SortishSampler, SortSampler, TextList, TokenizeProcessor
from fastai.text.transform import Tokenizer, Vocab

from ..errors import DataError
from ..formats.csvio import scan_rows
from ..text.tags import check_column, escape_text, has_markers, is_marker, strip_tags
from ..text.tokenizer import JOIN, SPACE, MarkerTokenizer, detokenize
from .augment import AugmentConfig, swap_mentions

__all__ = ["read_pairs", "Seq2SeqTextList", "Seq2SeqDataBunch", "seq2seq_collate",
           "seq2seq_data", "make_vocab", "split_indices"]


def _read_csv(path: Path) -> pd.DataFrame:
    "Read a CSV as strings, turning pandas' errors into one clear line."
    if not path.is_file(): raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0: raise DataError(f"{path}: the file is empty")
    try:
        scan_rows(path, ",")  # a NUL byte would silently cut its cell short in pandas: name its row instead
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    except UnicodeDecodeError as e:  # pandas' offset is within a buffer, so find the byte ourselves
        raise DataError(f"{path}: not UTF-8 ({_bad_utf8(path)}); re-save it as UTF-8") from e
    except pd.errors.EmptyDataError as e:
        raise DataError(f"{path}: the file has no header or rows") from e
    except pd.errors.ParserError as e:
        raise DataError(f"{path}: not a valid CSV ({e})") from e


def _bad_utf8(path: Path) -> str:
    "Where the first byte that is not UTF-8 stands in the file at `path`."
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        return f"line {line}, byte {e.start}: 0x{raw[e.start]:02x}"
    return "invalid bytes"


def read_pairs(csv_or_df, src: str = "orig_text", tgt: str = "annotated_text", *,
               check_tags: bool = True, verbose: bool = True, skip_bad_rows: bool = False) -> pd.DataFrame:
    """Load sentence pairs, validated.

    Args:
        csv_or_df: a CSV path or a DataFrame.
        src, tgt: the source and target column names.
        check_tags: validate the inline tags of every column that holds them (`tgt` for the
            restore task, `src` too when it holds markers), and that the two columns of every
            row agree: the annotated one without its tags is the other one.
        skip_bad_rows: drop the rows whose columns disagree (counted in `df.attrs['bad']`)
            instead of raising.
    Returns the frame with rows whose `src` or `tgt` cell is empty/NaN dropped (counted in
    `df.attrs['dropped']`). Raises `DataError`/`TagError` naming the file, column and row.
    """
    name = str(csv_or_df) if not isinstance(csv_or_df, pd.DataFrame) else "dataframe"
    df = csv_or_df if isinstance(csv_or_df, pd.DataFrame) else _read_csv(Path(csv_or_df))
    missing = [c for c in (src, tgt) if c not in df.columns]
    if missing:
        raise DataError(f"{name}: missing column(s) {', '.join(map(repr, missing))}; "
                        f"the file has {', '.join(map(repr, map(str, df.columns)))}")
    if len(df) == 0: raise DataError(f"{name}: no rows")
    blank = df[[src, tgt]].isna().any(axis=1) | (df[[src, tgt]].astype(str).apply(lambda c: c.str.strip()) == "").any(axis=1)
    res = df[~blank].reset_index(drop=True)
    if len(res) == 0: raise DataError(f"{name}: every row has an empty {src!r} or {tgt!r} cell")
    if check_tags:  # the target always; the source too when it holds markers (the strip task)
        for col in (tgt, src):
            cells = df[col].where(~blank)
            if col == tgt or cells.dropna().map(has_markers).any():
                check_column(cells, col, name)
        bad = _disagree(df, ~blank, src, tgt)
        if bad.any() and not skip_bad_rows: raise DataError(_disagree_msg(df, bad, src, tgt, name))
        res = df[~blank & ~bad].reset_index(drop=True)
        res.attrs["bad"] = int(bad.sum())
        if verbose and bad.any(): print(f"{name}: skipped {int(bad.sum())} row(s) whose {src!r} and {tgt!r} disagree")
        if len(res) == 0: raise DataError(f"{name}: no row left whose {src!r} and {tgt!r} agree")
    res.attrs["dropped"] = int(blank.sum())
    if verbose and blank.any():
        print(f"{name}: skipped {int(blank.sum())} row(s) with an empty {src!r} or {tgt!r} cell")
    return res


def _annotated_side(df: pd.DataFrame, src: str, tgt: str) -> tuple:
    "(annotated column, plain column): the target, unless only the source holds markers (strip task)."
    has = {c: df[c].dropna().map(has_markers).any() for c in (src, tgt)}
    return (src, tgt) if has[src] and not has[tgt] else (tgt, src)


def _disagree(df: pd.DataFrame, rows: pd.Series, src: str, tgt: str) -> pd.Series:
    "True at the `rows` whose annotated cell, without its tags, is not the plain cell."
    ann, plain = _annotated_side(df[rows], src, tgt)
    return rows & pd.Series([isinstance(a, str) and strip_tags(a) != p for a, p in zip(df[ann], df[plain])],
                            index=df.index)


def _disagree_msg(df: pd.DataFrame, bad: pd.Series, src: str, tgt: str, name: str, show: int = 3) -> str:
    "One line naming the first few rows whose columns disagree, and where they first differ."
    ann, plain = _annotated_side(df, src, tgt)
    rows = []
    for i in np.flatnonzero(bad.values)[:show]:  # positions: the 1-based data row of the file is i + 1
        a, p = strip_tags(df[ann].iloc[i]), df[plain].iloc[i]
        at = next((k for k, (x, y) in enumerate(zip(a, p)) if x != y), min(len(a), len(p)))
        rows.append(f"row {i + 1} at char {at} ({p[at:at + 12]!r} vs {a[at:at + 12]!r})")
    return (f"{name}: {int(bad.sum())} row(s) whose {ann!r} without its tags is not {plain!r}: "
            f"{'; '.join(rows)}{'; ...' if bad.sum() > show else ''}; fix them or pass --skip-bad-rows")


def make_vocab(tokens, max_vocab: int = 60000, min_freq: int = 2) -> Vocab:
    "fastai `Vocab` that always keeps specials, whitespace controls and tag markers, however rare."
    vocab = Vocab.create(tokens, max_vocab, min_freq)
    have = set(vocab.itos)
    keep = [JOIN, SPACE] + sorted({t for o in tokens for t in o if is_marker(t) or t.isspace()})
    extra = [t for t in keep if t not in have]
    if not extra: return vocab
    itos = [t for t in vocab.itos if t != "xxfake"] + extra
    while len(itos) % 8: itos.append("xxfake")  # fastai keeps vocab sizes a multiple of 8
    return Vocab(itos)


class _Numericalize(NumericalizeProcessor):
    """NumericalizeProcessor whose vocab comes from `make_vocab`. With `extend`, the splits after the
    first (validation) append their unseen tokens to the vocab instead of reading them as xxunk: an
    open-vocabulary model (seq2seq/models/aligned.py) then sees their spelling, as it does at prediction."""

    def __init__(self, *args, extend: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.extend = extend

    def process(self, ds):
        if self.vocab is None: self.vocab = make_vocab(ds.items, self.max_vocab, self.min_freq)
        elif getattr(self, "extend", False):
            for toks in ds.items:
                for t in toks:
                    if t not in self.vocab.stoi:
                        self.vocab.stoi[t] = len(self.vocab.itos)
                        self.vocab.itos.append(t)
        super().process(ds)


class Seq2SeqTextList(TextList):
    "A `TextList` whose items detokenize back to their exact text and that bunches as seq2seq data."

    def reconstruct(self, t):
        if isinstance(t, (tuple, list)): t = t[0]  # a batch input is (src, tgt_in): show the source
        ids = [int(i) for i in t if int(i) != self.pad_idx]
        return _Text(ids, detokenize(self.vocab.itos[i] for i in ids))

    def label_from_df(self, cols=1, label_cls=None, **kwargs):
        "fastai's for one column, minus its `np.squeeze`, which makes a one-row split's labels a scalar."
        labels = self.inner_df.iloc[:, df_names_to_idx(cols, self.inner_df)].values[:, 0]
        return self._label_from_list(labels, label_cls=label_cls, **kwargs)


class _Text:
    "A decoded item (fastai's `Text` joins tokens with spaces; ours restores the spacing)."

    def __init__(self, ids, text): self.data, self.text = np.array(ids, dtype=np.int64), text
    def __str__(self): return self.text


def seq2seq_collate(samples, pad_idx: int = 1):
    "Pad sources and targets on the right; return `((src, tgt_in), tgt_out)`."
    xs = [torch.as_tensor(s[0].data) for s in samples]
    ys = [torch.as_tensor(s[1].data) for s in samples]
    src = torch.nn.utils.rnn.pad_sequence(xs, batch_first=True, padding_value=pad_idx)
    tgt = torch.nn.utils.rnn.pad_sequence(ys, batch_first=True, padding_value=pad_idx)
    return (src, tgt[:, :-1]), tgt[:, 1:]


class Seq2SeqDataBunch(DataBunch):
    "A `DataBunch` of sentence pairs: sortish training batches, sorted validation batches."

    @classmethod
    def create(cls, train_ds, valid_ds, test_ds=None, path=".", bs: int = 64, val_bs: int = None,
               pad_idx: int = 1, device: torch.device = None, no_check: bool = False,
               num_workers: int = 0, dl_tfms=None, collate_fn=None, **dl_kwargs) -> DataBunch:
        "Build the loaders; batches are grouped by length so padding stays small."
        datasets = cls._init_ds(train_ds, valid_ds, test_ds)
        val_bs = val_bs or bs
        # fastai patches DataLoader to pin memory by default, which warns on a machine without a GPU
        dl_kwargs.setdefault("pin_memory", torch.cuda.is_available())
        collate = _Collate(pad_idx)
        lens = [len(x) + len(y) for x, y in zip(datasets[0].x.items, datasets[0].y.items)]
        train_sampler = SortishSampler(datasets[0].x, key=lens.__getitem__, bs=bs)
        dls = [DataLoader(datasets[0], batch_size=bs, sampler=train_sampler, drop_last=len(lens) > bs,
                          num_workers=num_workers, **dl_kwargs)]
        for ds in datasets[1:]:
            vlens = [len(x) + len(y) for x, y in zip(ds.x.items, ds.y.items)]
            dls.append(DataLoader(ds, batch_size=val_bs, sampler=SortSampler(ds.x, key=vlens.__getitem__),
                                  num_workers=num_workers, **dl_kwargs))
        return cls(*dls, path=path, device=device, dl_tfms=dl_tfms, collate_fn=collate, no_check=no_check)

    def show_batch(self, rows: int = 5, ds_type=None, **kwargs):
        "Print source and target of the first `rows` items of a batch, with their exact spacing."
        from fastai.basic_data import DatasetType
        ds = self.dl(ds_type or DatasetType.Train).dataset
        for i in range(min(rows, len(ds))):
            x, y = ds[i]
            print(f"source: {x.text}\ntarget: {y.text}\n")


class _Collate:
    "Picklable collate function (a DataBunch saved with `save` must pickle it)."

    def __init__(self, pad_idx): self.pad_idx = pad_idx
    def __call__(self, samples): return seq2seq_collate(samples, self.pad_idx)


Seq2SeqTextList._bunch = Seq2SeqDataBunch


def _processors(lang: str, bos_eos: bool, max_vocab: int, min_freq: int, extend: bool = False):
    "Tokenize (our spaCy-3 tokenizer, no fastai rules: casing and spacing must survive) then numericalize."
    tok = Tokenizer(tok_func=MarkerTokenizer, lang=lang, pre_rules=[], post_rules=[], n_cpus=1)
    return [TokenizeProcessor(tokenizer=tok, include_bos=bos_eos, include_eos=bos_eos),
            _Numericalize(max_vocab=max_vocab, min_freq=min_freq, extend=extend)]


def seq2seq_data(pairs: pd.DataFrame, src: str = "orig_text", tgt: str = "annotated_text", *,
                 path=".", lang: str = "en", valid_pct: float = 0.1, valid_col: Optional[str] = None,
                 seed: int = 42, bs: int = 64, max_vocab: int = 60000, min_freq: int = 2,
                 src_min_freq: Optional[int] = None, src_open_vocab: bool = False,
                 augment: Optional[AugmentConfig] = None, **kwargs) -> Seq2SeqDataBunch:
    """A `Seq2SeqDataBunch` from validated pairs (see `read_pairs`).

    Args:
        valid_pct, seed: seeded random split, unless `valid_col` names a boolean column.
        lang: spaCy language code for tokenization.
        max_vocab, min_freq: vocabulary limits (markers and whitespace controls are always kept).
        src_min_freq: the source side's min_freq when not `min_freq` (1 for the aligned arch, whose
            source vocabulary keeps every training word for its sub-word features).
        src_open_vocab: validation source tokens unseen in training join the source vocab (after the
            training ones) instead of becoming xxunk (for the aligned arch; no label is read).
        augment: mention swapping (`AugmentConfig`): its rows, made from the training rows after the
            split, join the training set (after `pairs`' rows, so `valid_idx` still indexes `pairs`).
    """
    valid_idx, n_pairs = split_indices(pairs, valid_pct, seed, valid_col), len(pairs)
    if augment is not None and augment.copies > 0:
        train_idx = np.setdiff1d(np.arange(len(pairs)), valid_idx)
        extra = swap_mentions(pairs, src, tgt, train_idx, augment.copies, augment.rate, seed)
        pairs = pd.concat([pairs, extra], ignore_index=True)
    if pairs[tgt].map(has_markers).any():  # restore task: a plain source is escaped, as `restore` reads it
        pairs = pairs.assign(**{src: pairs[src].map(escape_text)})
    src_min = min_freq if src_min_freq is None else src_min_freq
    il = Seq2SeqTextList.from_df(pairs, path=path, cols=src,
                                 processor=_processors(lang, False, max_vocab, src_min, src_open_vocab))
    ll = il.split_by_idx(valid_idx).label_from_df(cols=tgt, label_cls=Seq2SeqTextList,
                                                 processor=_processors(lang, True, max_vocab, min_freq))
    kwargs.setdefault("num_workers", 0)  # fastai asks for one worker per CPU; padding a batch needs none
    data = ll.databunch(bs=bs, **kwargs)
    data.valid_idx = valid_idx  # rows of `pairs` held out, e.g. to write them for scripts/predict.py
    data.n_augmented = len(pairs) - n_pairs  # training rows made by `augment`
    return data


def split_indices(pairs: pd.DataFrame, valid_pct: float, seed: int, valid_col: Optional[str] = None) -> np.ndarray:
    "Sorted row numbers of the validation set: a seeded random share, or where `valid_col` is true."
    if valid_col is not None:
        if valid_col not in pairs.columns: raise DataError(f"no column {valid_col!r} for the split")
        idx = np.flatnonzero(pairs[valid_col].astype(str).str.lower().isin(["1", "true"]))
        # fastai reports an empty split as one item long, and training then fails far from here
        if not 0 < len(idx) < len(pairs):
            raise DataError(f"column {valid_col!r} marks {len(idx)} of {len(pairs)} rows for validation "
                            "(true/1); both the training and the validation set need rows")
        return idx
    n_valid = max(1, int(round(valid_pct * len(pairs))))
    if n_valid >= len(pairs): raise DataError(f"{len(pairs)} rows are too few to hold out {valid_pct:.0%}")
    return np.sort(np.random.RandomState(seed).permutation(len(pairs))[:n_valid])

