"""Pick rules and logit masks: what turns a step's log-probabilities into next ids (greedy, top-k,
nucleus), temperature, masks and the GNMT length penalty. Each works on a whole batch of rows;
tests feed them hand-made log-probabilities.
"""
from typing import Optional

import torch
from torch import Tensor

__all__ = ["NEG_INF", "greedy_pick", "top_k_pick", "top_p_pick", "apply_temperature", "mask_logits", "gnmt_penalty"]

NEG_INF = float("-inf")


def greedy_pick(logp: Tensor) -> Tensor:
    "Most likely id of each row: `logp` (bs, V) -> ids (bs,)."
    return logp.argmax(-1)


def top_k_pick(logp: Tensor, k: int, generator: Optional[torch.Generator] = None) -> Tensor:
    """Sample one id per row among the `k` most likely, with probabilities renormalised over them.

    logp: (bs, V) log-probabilities (or logits); returns ids (bs,). `k=1` is greedy.
    """
    vals, ix = logp.topk(min(k, logp.size(-1)), dim=-1)      # (bs, k)
    pick = torch.multinomial(vals.softmax(-1), 1, generator=generator)
    return ix.gather(-1, pick).squeeze(-1)


def top_p_pick(logp: Tensor, p: float, generator: Optional[torch.Generator] = None) -> Tensor:
    """Nucleus sampling: per row, keep the smallest set of most likely ids whose mass is >= `p`
    (always at least one id) and sample among them with renormalised probabilities.

    logp: (bs, V) log-probabilities (or logits); returns ids (bs,). A tiny `p` is greedy.
    """
    srt, ix = logp.sort(-1, descending=True)
    probs = srt.softmax(-1)
    # an id is kept while the mass before it is short of p (so the first always is, as p > 0)
    keep = probs.cumsum(-1) - probs < p
    pick = torch.multinomial(probs.masked_fill(~keep, 0.), 1, generator=generator)
    return ix.gather(-1, pick).squeeze(-1)


def apply_temperature(logits: Tensor, t: float) -> Tensor:
    "Divide logits by temperature `t` (> 0): below 1 sharpens, above 1 flattens."
    return logits if t == 1 else logits / t


def mask_logits(logits: Tensor, allowed: Tensor) -> Tensor:
    "Set logits (bs, V) to -inf wherever the bool mask `allowed` (bs, V) is False."
    return torch.where(allowed, logits, NEG_INF)


def gnmt_penalty(length, alpha: float):
    "GNMT length penalty `((5 + length) / 6) ** alpha`; 1 for alpha=0. `length` may be a tensor."
    return ((5 + length) / 6) ** alpha
