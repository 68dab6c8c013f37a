"""De-identification and prediction: CSVs of sentences, whole notes with document offsets, redaction and the
HTML review page."""
