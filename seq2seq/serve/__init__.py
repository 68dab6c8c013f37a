"""The de-identification HTTP service (`seq2seq-serve`): its options (`config`), the micro-batching
queue (`batcher`), API keys and size limits (`limits`), request ids and logs without text (`logs`),
the JSON schemas (`schema`), request options -> redaction (`redaction`), the app (`app`) and the
server with graceful shutdown (`server`)."""
