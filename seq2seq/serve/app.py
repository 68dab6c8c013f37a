"""The service's app: a loaded model behind JSON endpoints (FastAPI), micro-batched.

    POST /v1/annotate     {"texts": [...], decoding options}  -> {"results": [{"annotated", "spans"}]}
    POST /v1/deidentify   {"documents": [{"id", "text"}], "redact": ...} -> {"documents": [{"id", "spans", "redacted"}]}
    GET  /v1/model        types, language, training figures
    GET  /healthz         the process answers;  GET /readyz: the model is loaded and decoding
    GET  /openapi.json    the schema (and /docs, its page)

Every decode goes through one `MicroBatcher`, whose single worker thread is the only one to touch
the model. `/v1/annotate` decodes each text as a unit, exactly as `seq2seq-predict` decodes a CSV
row; `/v1/deidentify` runs the document path of `seq2seq-predict` (`pipeline.deidentify`: sentences,
spans in document offsets, repeats, redaction) in a thread whose decoding calls go to the batcher,
so the sentences of concurrent notes are decoded together too. The results are those of
`seq2seq-predict` on the same texts and options (scores agree to float rounding: the batch a sentence
is decoded in changes the last bits of its sums).
"""
import asyncio
import contextlib
import json
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from .. import __version__
from ..decoding.config import DecodeConfig, decode_config
from ..deid.documents import DocumentPrediction
from ..deid.pipeline import deidentify
from ..deid.repeats import RepeatConfig
from ..errors import UserError
from ..formats.documents import Document
from ..formats.writers import jsonl_record
from ..text.tags import is_open, marker_type
from .batcher import Busy, Closed, MicroBatcher
from .config import ServeConfig
from .limits import BearerAuth, BodyLimit, error_body
from .logs import LOGGER, RequestLog
from .redaction import redact_config
from .schema import (AnnotateRequest, AnnotateResponse, DeidentifyRequest, DeidentifyResponse, ErrorResponse, Health,
                     ModelInfo, Ready)

__all__ = ["Service", "create_app", "BASE_DECODE", "ROUTES"]

BASE_DECODE = DecodeConfig(seed=0)  # seq2seq-predict's command-line defaults (commands/predict.py CLI_DEFAULTS)
ROUTES = ("/v1/annotate", "/v1/deidentify", "/v1/model", "/healthz", "/readyz", "/openapi.json", "/docs")
_SAMPLERS = ("topk", "nucleus")


class RequestError(Exception):
    "A request the service refuses: its HTTP status, a short code and a message (no input text in it)."

    def __init__(self, status: int, code: str, message: str, headers: Optional[dict] = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


class Service:
    """A loaded model, its micro-batcher and the two decoding jobs.

    learn: a Learner from `load_seq2seq`. cfg: the `ServeConfig`. model_path: its file (for /v1/model).
    """

    def __init__(self, learn, cfg: ServeConfig, model_path):
        self.learn, self.cfg, self.model_path = learn, cfg, Path(model_path)
        self.batcher = MicroBatcher(self._decode, max_batch=cfg.max_batch, max_wait_ms=cfg.max_wait_ms,
                                    enabled=cfg.micro_batching, max_queue=cfg.max_queue)
        self.docs_pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="documents")
        self.info = model_info(learn, self.model_path)
        self._threads_set = False

    def warm_up(self):
        "Decode one sentence, so that the first request does not pay for loading the tokenizer."
        self.learn.restore(["Seen on 3/4/2091."], BASE_DECODE, with_scores=True)

    # ---------------------------------------------------------------- decoding (the batcher's thread)

    def _decode(self, texts: List[str], key) -> list:
        "Decode one micro-batch: `key` is (mode, DecodeConfig, ...); spans or scored hypotheses a text."
        if not self._threads_set and self.cfg.threads is not None:
            import torch
            torch.set_num_threads(self.cfg.threads)  # the decode thread's own setting, as the command asked
            self._threads_set = True
        mode, c = key[0], key[1]
        if mode == "spans": return self.learn.restore(texts, c, with_spans=True)
        return self.learn.restore(texts, c, with_scores=True)

    def key(self, mode: str, c: DecodeConfig):
        "The batcher key: requests batch together only when they decode alike; a seeded sampler decodes alone."
        return (mode, c, object()) if c.decoder in _SAMPLERS and c.seed is not None else (mode, c)

    # ---------------------------------------------------------------- the endpoints' work

    async def annotate(self, req: AnnotateRequest, counts: dict) -> dict:
        "The results of /v1/annotate."
        self._check_sizes([t for t in req.texts], "texts", "text")
        c = _decode_cfg(req)
        mode = "spans" if c.faithful and c.n_best == 1 and self.learn.meta["task"] == "restore" else "scores"
        counts.update(texts=len(req.texts), chars=sum(map(len, req.texts)))
        out = await self._wait(self.batcher.submit(req.texts, self.key(mode, c)))
        if mode == "spans":
            res = [dict(annotated=a, spans=_span_dicts(t, sps)) for t, (a, sps) in zip(req.texts, out)]
        else:
            res = [dict(annotated=hs[0][0], **({"hypotheses": [dict(annotated=h, score=s) for h, s in hs]}
                                               if c.n_best > 1 else {})) for hs in out]
        counts["spans"] = sum(len(r.get("spans") or ()) for r in res)
        return dict(results=res)

    async def deidentify(self, req: DeidentifyRequest, counts: dict) -> dict:
        "The results of /v1/deidentify."
        self._check_sizes([d.text for d in req.documents], "documents", "document")
        c = _decode_cfg(req)
        if not c.faithful: raise RequestError(422, "invalid_option", "faithful must be true: document offsets need faithful decoding")
        if self.learn.meta["task"] != "restore":
            raise RequestError(422, "wrong_model", "this model removes tags; it cannot find spans to de-identify")
        ids = [d.id if d.id is not None else str(i + 1) for i, d in enumerate(req.documents)]
        if len(set(ids)) < len(ids): raise RequestError(422, "invalid_request", "two documents share an id")
        try:
            red = redact_config(self.cfg, req.redact, req.mask_char, c.seed)
            rep = RepeatConfig(repeats=req.repeats)
        except UserError as e: raise RequestError(422, "invalid_option", str(e)) from None
        docs = [Document(i, d.text) for i, d in zip(ids, req.documents)]
        counts.update(documents=len(docs), chars=sum(len(d.text) for d in docs))
        loop, deadline, warnings = asyncio.get_running_loop(), time.monotonic() + self.cfg.request_timeout, []
        remote = _BatchedLearner(self, loop, deadline)

        def work():
            return deidentify(remote, docs, red, c, split=True, min_score=req.min_score, repeats=rep,
                              warn=warnings.append)

        preds, redacted, reps = await self._wait(loop.run_in_executor(self.docs_pool, work))
        counts.update(sentences=sum(len(p.sentences) for p in preds), spans=sum(len(p.spans) for p in preds))
        recs = [json.loads(jsonl_record(p, None if redacted is None else redacted[k], None if reps is None else reps[k]))
                for k, p in enumerate(preds)]
        return dict(documents=[dict(id=r["id"], spans=r["spans"], redacted=r.get("redacted")) for r in recs],
                    warnings=warnings)

    def _check_sizes(self, texts: List[str], many: str, one: str):
        "413 for too many texts or one too long."
        if len(texts) > self.cfg.max_texts:
            raise RequestError(413, "too_many_texts", f"{len(texts)} {many}; at most {self.cfg.max_texts} a request "
                                                      "(--max-texts)")
        long = next((i for i, t in enumerate(texts) if len(t) > self.cfg.max_chars), None)
        if long is not None:
            raise RequestError(413, "text_too_long", f"{one} {long + 1} has {len(texts[long])} characters; at most "
                                                     f"{self.cfg.max_chars} (--max-chars)")

    async def _wait(self, aw):
        "Await `aw` within the request timeout; the service's refusals as RequestErrors."
        try: return await asyncio.wait_for(aw, self.cfg.request_timeout)
        except (asyncio.TimeoutError, TimeoutError):
            raise RequestError(504, "timeout", f"not done within {self.cfg.request_timeout:g} s (--request-timeout)") from None
        except Busy as e: raise RequestError(503, "busy", str(e), {"retry-after": "1"}) from None
        except Closed as e: raise RequestError(503, "shutting_down", str(e)) from None
        except UserError as e: raise RequestError(422, "invalid_request", str(e)) from None


class _BatchedLearner:
    """What `predict_documents` needs of a Learner (`model.meta`, `restore`), with decoding sent to
    the service's batcher from a document thread, so that concurrent notes share micro-batches."""

    def __init__(self, service: Service, loop, deadline: float):
        self.service, self.loop, self.deadline = service, loop, deadline
        self.model = service.learn.model

    def restore(self, texts, cfg=None, *, with_spans: bool = False, progress: bool = False, **options):
        c = decode_config(cfg, **options)
        left = self.deadline - time.monotonic()
        if left <= 0: raise TimeoutError("request timed out")
        key = self.service.key("spans" if with_spans else "scores", c)
        fut = asyncio.run_coroutine_threadsafe(self.service.batcher.submit(list(texts), key), self.loop)
        try: return fut.result(timeout=left)
        except TimeoutError:
            fut.cancel()   # its sentences leave the queue if not decoded yet
            raise


def _decode_cfg(req) -> DecodeConfig:
    "The request's DecodeConfig: seq2seq-predict's defaults with the fields it gave."
    given = {k: v for k, v in req.model_dump(include=set(DecodeConfig.__dataclass_fields__)).items() if v is not None}
    try: return decode_config(BASE_DECODE, **given)
    except UserError as e: raise RequestError(422, "invalid_option", str(e)) from None


def _span_dicts(text: str, spans) -> list:
    "The spans of one text as predictions.jsonl writes them (formats/writers.py)."
    return json.loads(jsonl_record(DocumentPrediction(Document("", text), spans, [])))["spans"]


def model_info(learn, path: Path) -> dict:
    "What /v1/model says: the file name, arch, language, task, span types and training figures."
    metrics = path.parent / "metrics.json"
    training = None
    with contextlib.suppress(OSError, ValueError):
        training = json.loads(metrics.read_text()) if metrics.is_file() else None
    types = sorted({marker_type(t) for t in learn.data.y.vocab.itos if is_open(t)})
    meta, cfg = learn.meta, getattr(learn.model, "cfg", None)
    return dict(name=path.name, arch=getattr(cfg, "arch", "?"), lang=meta.get("lang", "?"), task=meta.get("task", "?"),
                types=types, version=meta.get("version", __version__), training=training)


# ---------------------------------------------------------------- the app

_ERRORS = {k: {"model": ErrorResponse} for k in (401, 413, 422, 503, 504)}


def create_app(service: Service, api_key: Optional[bytes] = None):
    """The ASGI app of `service`: FastAPI endpoints inside the request log, the API key check and
    the body-size limit (in that order, outermost first)."""
    @contextlib.asynccontextmanager
    async def lifespan(app):
        service.batcher.start()
        LOGGER.info("ready: %s (%s, %s), micro-batching %s (max %d sentences, %g ms)", service.info["name"],
                    service.info["arch"], service.info["lang"], "on" if service.cfg.micro_batching else "off",
                    service.cfg.max_batch, service.cfg.max_wait_ms)
        yield
        await service.batcher.stop()   # in-flight requests are done by now: uvicorn waited for them
        service.docs_pool.shutdown(wait=True)
        LOGGER.info("stopped: %d request(s) decoded in %d batch(es)", service.batcher.stats.requests,
                    service.batcher.stats.batches)

    api = FastAPI(title="seq2seq-annotate de-identification service", version=__version__, lifespan=lifespan,
                  description=__doc__.split("\n\n")[0])
    _routes(api, service)
    _handlers(api)
    return RequestLog(BearerAuth(BodyLimit(api, service.cfg.max_body_bytes), api_key), ROUTES)


def _routes(api: FastAPI, service: Service):
    "The endpoints."
    @api.post("/v1/annotate", response_model=AnnotateResponse, responses=_ERRORS, response_model_exclude_none=True)
    async def annotate(req: AnnotateRequest, request: Request):
        "Annotate texts: each comes back with its inline markers and its spans (offsets into the text)."
        return await _answer(request, service.annotate(req, request.state.counts))

    @api.post("/v1/deidentify", response_model=DeidentifyResponse, responses=_ERRORS)
    async def deidentify_(req: DeidentifyRequest, request: Request):
        "De-identify whole notes: spans in note offsets and a redacted copy of each note."
        return await _answer(request, service.deidentify(req, request.state.counts))

    @api.get("/v1/model", response_model=ModelInfo, responses=_ERRORS)
    async def model():
        "The model served: its span types, language and training figures."
        return service.info

    @api.get("/healthz", response_model=Health)
    async def healthz():
        "The process is up and answering."
        return dict(status="ok")

    @api.get("/readyz", response_model=Ready, responses={503: {"model": Ready}})
    async def readyz():
        "The model is loaded and decoding (503 while shutting down); batching counters."
        s, ok = service.batcher.stats, service.batcher.running
        body = dict(status="ready" if ok else "not ready", waiting=service.batcher.waiting, batches=s.batches,
                    requests=s.requests, sentences=s.sentences, largest_batch=s.largest)
        return body if ok else JSONResponse(body, status_code=503)


async def _answer(request: Request, work):
    "The endpoint's result, or its JSON error (an unexpected one logged by type only: messages may quote input)."
    rid = request.state.request_id
    try: return JSONResponse(await work)   # already the response model's shape: no second validation pass
    except RequestError as e:
        return JSONResponse(error_body(e.status, e.code, e.message, rid), status_code=e.status, headers=e.headers)
    except Exception as e:  # a bug: say so without the message, which may hold text
        LOGGER.error("request id=%s failed: %s\n%s", rid, type(e).__name__, "".join(traceback.format_tb(e.__traceback__)))
        return JSONResponse(error_body(500, "internal", f"internal error ({type(e).__name__}); see the server log "
                                                        f"for request {rid}", rid), status_code=500)


def _handlers(api: FastAPI):
    "Malformed requests and unknown routes as the service's JSON errors."
    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        # location and reason only: pydantic's errors also carry the input, which may be text
        msgs = ["/".join(str(x) for x in e.get("loc", ())) + ": " + e.get("msg", "") for e in exc.errors()]
        body = error_body(422, "invalid_request", "; ".join(msgs[:10]) or "malformed request", request.state.request_id)
        return JSONResponse(body, status_code=422)

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(exc.status_code, code, str(exc.detail), request.state.request_id),
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))
