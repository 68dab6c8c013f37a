"""Serve a model from seq2seq-train as a de-identification HTTP service (JSON; OpenAPI at /openapi.json).

Endpoints: POST /v1/annotate (texts -> inline annotations and spans), POST /v1/deidentify (whole notes
-> spans in note offsets and redacted copies), GET /v1/model, GET /healthz, GET /readyz. Concurrent
requests are decoded together (micro-batching: --max-batch sentences, waiting at most --max-wait-ms);
the model is loaded once. Requests are held to --max-body-bytes, --max-texts, --max-chars and
--request-timeout; logs carry request ids, sizes and timings, never text. By default the service
listens on 127.0.0.1 only; binding to another address needs --api-key-file (clients then send
'Authorization: Bearer KEY'). SIGTERM stops it gracefully: requests in flight finish first.
Example:
  seq2seq-serve --model models/demo/model.safetensors --port 8080
  curl -s localhost:8080/v1/deidentify -H 'content-type: application/json' \\
      -d '{"documents": [{"id": "n1", "text": "Seen by Dr. Smith on 3/4/2091."}], "redact": "surrogate"}'
"""
import argparse
import logging
import signal
import sys

from ..config import add_options, from_args
from ..serve.config import ServeConfig
from .cli import run

__all__ = ["parser", "parse_args", "main", "console"]


class _Help(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    "The description as written, each option with its default."


def parser() -> argparse.ArgumentParser:
    "The command line: the model, then `ServeConfig`'s fields."
    p = argparse.ArgumentParser(prog="seq2seq-serve", description=__doc__, formatter_class=_Help)
    p.add_argument("--model", required=True, help="model.safetensors written by seq2seq-train (or its folder)")
    p.add_argument("--trust-model-file", action="store_true",
                   help="allow a pickle-based model file (export.pkl): unpickling runs any code it holds")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"), help="log verbosity")
    add_options(p, ServeConfig)
    return p


def parse_args(argv=None):
    "(namespace, ServeConfig) from the command line; a bad value exits 2 naming its flag."
    p = parser()
    a = p.parse_args(argv)
    return a, from_args(ServeConfig, a, p)


def main(argv=None):
    "Load the model and serve it until SIGTERM or Ctrl-C (see the module docstring)."
    a, cfg = parse_args(argv)
    logging.basicConfig(level=a.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    from ..serve.limits import read_api_key
    from ..serve.redaction import server_redaction
    key = read_api_key(cfg.api_key_file) if cfg.api_key_file else None
    server_redaction(cfg)  # a bad --redact-policy or --key-file stops here, before the model is loaded
    from ..training.device import set_threads
    from ..training.learner import load_seq2seq
    from ..serve.app import Service, create_app
    from ..serve.server import run_server
    threads = set_threads(cfg.threads)
    learn = load_seq2seq(a.model, device=None if a.device == "auto" else a.device, trust=a.trust_model_file)
    from dataclasses import replace
    service = Service(learn, replace(cfg, threads=threads), a.model)
    service.warm_up()
    log = logging.getLogger("seq2seq.serve")
    got = run_server(create_app(service, key), cfg,
                     started=lambda h, port: log.info("listening on http://%s:%d%s", h, port,
                                                      " (API key required)" if key else ""))
    if got is not None: log.info("shut down gracefully after %s", signal.Signals(got).name)


def console():
    "Entry point of `seq2seq-serve`."
    sys.exit(run(main))
