"""File formats: CSV checks, annotated corpora in (i2b2 XML, BRAT, CoNLL, JSON spans), sentence-pair
conversion with type maps, whole notes in, predictions out (JSONL, CSV, BRAT, i2b2)."""
