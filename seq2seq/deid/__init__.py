"""De-identification and prediction: CSVs of sentences, whole notes with document offsets, redaction (operators
per type, surrogates in the note's language, keyed pseudonyms, hashes, reversible encryption) and the HTML
review page."""
