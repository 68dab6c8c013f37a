"""The JSON the service reads and writes (pydantic models; they make `/openapi.json`).

The decoding fields of a request are `DecodeConfig`'s own (built from its dataclass fields, so they
cannot drift from `seq2seq-predict --help`); a field left out keeps the command line's default.
Unknown fields are refused (422), so a misspelt option never goes unnoticed.
"""
import dataclasses
import typing
from typing import List, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..decoding.config import DecodeConfig

__all__ = ["DecodeOptions", "AnnotateRequest", "AnnotateResponse", "AnnotateResult", "DocumentIn",
           "DeidentifyRequest", "DeidentifyResponse", "DocumentOut", "SpanOut", "Hypothesis", "ModelInfo",
           "Health", "Ready", "ErrorResponse", "decode_fields"]

RedactMode = Literal["none", "mask", "type", "surrogate", "hash", "encrypt"]   # deid.redact.REDACT_MODES


def decode_fields() -> dict:
    "pydantic field definitions of every `DecodeConfig` field, each optional (None: the default)."
    hints = typing.get_type_hints(DecodeConfig)
    res = {}
    for f in dataclasses.fields(DecodeConfig):
        tp = hints[f.name]
        base = next((a for a in typing.get_args(tp) if a is not type(None)), tp)
        res[f.name] = (Optional[base], Field(None, description=f.metadata.get("help", "")))
    return res


DecodeOptions = create_model("DecodeOptions", __config__=ConfigDict(extra="forbid"), **decode_fields())
DecodeOptions.__doc__ = "Decoding options: the fields of seq2seq-predict's decoding flags (None: its default)."


class AnnotateRequest(DecodeOptions):
    "Texts to annotate (each decoded as one unit, like a row of a CSV), and decoding options."
    texts: List[str] = Field(..., min_length=1, description="the texts (sentences or short passages)")


class SpanOut(BaseModel):
    "A span: character offsets into its text, its type, its text and its score (the probability of its markers)."
    start: int
    end: int
    type: str
    text: str
    score: float
    origin: str = Field("model", description="model (predicted) or repeat (another occurrence of a predicted string)")


class Hypothesis(BaseModel):
    "One of the n best outputs (n_best > 1), with its score."
    annotated: str
    score: float


class AnnotateResult(BaseModel):
    "The annotated text and its spans (spans: faithful decoding with n_best 1; else null and hypotheses)."
    annotated: str
    spans: Optional[List[SpanOut]] = None
    hypotheses: Optional[List[Hypothesis]] = None


class AnnotateResponse(BaseModel):
    results: List[AnnotateResult]


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Optional[str] = Field(None, description="the document's id (default: its 1-based position)")
    text: str


class DeidentifyRequest(DecodeOptions):
    "Whole notes: cut into sentences, decoded, spans mapped back to the note, redacted."
    documents: List[DocumentIn] = Field(..., min_length=1)
    redact: Optional[RedactMode] = Field(None, description="none, mask, type, surrogate, hash or encrypt (hash and encrypt need the server's --key-file; default: the server's --redact)")
    mask_char: Optional[str] = Field(None, min_length=1, max_length=1, description="the mask character")
    min_score: float = Field(0.0, ge=0, le=1, description="drop spans scored below it")
    repeats: Literal["auto", "on", "off"] = Field("auto", description="mark the other occurrences of predicted "
                                                                      "strings in each note (auto: when redacting)")


class DocumentOut(BaseModel):
    "A note's spans (offsets into its text) and its redacted copy (null with redact none)."
    id: str
    spans: List[SpanOut]
    redacted: Optional[str] = None


class DeidentifyResponse(BaseModel):
    documents: List[DocumentOut]
    warnings: List[str] = []


class ModelInfo(BaseModel):
    "The model served: file name, architecture, language, task, span types and its training figures."
    name: str
    arch: str
    lang: str
    task: str
    types: List[str]
    version: str
    training: Optional[dict] = Field(None, description="metrics.json written beside the model by seq2seq-train")


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    waiting: int = Field(..., description="sentences waiting to be decoded")
    batches: int
    requests: int
    sentences: int
    largest_batch: int


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    request_id: str


class ErrorResponse(BaseModel):
    error: ErrorDetail
