"""Decoding: its options, the pick rules, the one generate loop (greedy, top-k, nucleus, beam) and the
faithful assembly of texts from decoded tokens (with long texts in windows)."""
