"""Text and tags: the inline {{TYPE}}..{{/TYPE}} format, the reversible tokenizer, the sentence splitter and
the pure text scores (span P/R/F1, BLEU/chrF). The bottom layer above the core: imports no model code."""
