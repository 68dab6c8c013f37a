"""Models: the config, the architecture registry, the default source-aligned model, the seed GRU
encoder-decoder with optional attention, recurrent cells, features, fastText embeddings, the faithful
rules, losses, the CRF tagger and the safe model file."""
