"""Training data: sentence pairs as fastai TextLists and DataBunches, mention swapping, and the synthetic
sample (with the surrogate generators)."""
