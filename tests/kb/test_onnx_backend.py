"""ONNX Runtime encoders: the offline export and how close its embeddings are to PyTorch's.

The export runs once per test module (about 15-30 s on 2 cores) into a temp directory; the
embeddings are compared on chunks the real ingest pipeline cuts from real Acts, and retrieval is
compared on a real store of two Acts queried with the dev questions about them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb.errors import ConfigError
from kb.settings import EmbeddingSettings, Settings

onnxruntime = pytest.importorskip("onnxruntime", reason="the onnx extra (onnxruntime) is not installed")
pytest.importorskip("onnx", reason="the onnx extra (onnx) is not installed")

from kb.embedding import Encoder, bundled_model_path  # noqa: E402
from kb.onnx_export import (  # noqa: E402
    FP32_FILE,
    MANIFEST,
    ONNX_MODULE,
    ensure_onnx_model,
    onnx_model_kwargs,
    quantization_target,
)

ACTS = (
    "the-protection-of-children-from-sexual-offences-act-2012",
    "the-juvenile-justice-care-and-protection-of-children-act-2015",
    "the-information-technology-act-2000",
)


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("onnx-export") / "minilm-onnx"
    return ensure_onnx_model(EmbeddingSettings(onnx_dir=str(directory)))


@pytest.fixture(scope="module")
def act_texts(shared_sources) -> dict[str, list[str]]:
    """What ingest embeds: the embed text of real chunks; and short section headings."""
    from ingest.chunk import chunk_provision
    from ingest.convert import convert_file
    from ingest.detect import parse_converted
    from kb.settings import ChunkSettings, IngestSettings

    chunks: list[str] = []
    headings: list[str] = []
    for act in ACTS:
        parsed = parse_converted(convert_file(shared_sources / "indiacode-md" / act / "part-001.md", IngestSettings()))
        pieces = [c for p in parsed.provisions[:40] for c in chunk_provision(p, ChunkSettings())]
        chunks.extend(c.embed_text or c.text for c in pieces[:40])
        headings.extend(p.locator.heading for p in parsed.provisions[:10] if p.locator.heading)
    assert len(chunks) >= 100 and len(headings) >= 20, (len(chunks), len(headings))
    return {"chunks": chunks, "headings": headings}


@pytest.fixture(scope="module")
def embeddings(onnx_dir, act_texts) -> dict[str, np.ndarray]:
    texts = act_texts["chunks"] + act_texts["headings"]
    out = {}
    for backend in ("torch", "onnx", "onnx-int8"):
        encoder = Encoder(EmbeddingSettings(backend=backend, onnx_dir=str(onnx_dir)))
        out[backend] = np.asarray(encoder.embed_texts(texts), dtype=np.float64)
    return out


@pytest.mark.parametrize(
    ("flags", "machine", "isa", "file_name"),
    [
        ("fpu sse2 avx2 avx512f avx512bw avx512_vnni", "x86_64", "avx512_vnni", "onnx/model_qint8_avx512_vnni.onnx"),
        ("fpu sse2 avx2 avx512f avx512bw", "x86_64", "avx512", "onnx/model_qint8_avx512.onnx"),
        ("fpu sse2 avx avx2 fma", "x86_64", "avx2", "onnx/model_quint8_avx2.onnx"),
        ("fp asimd", "aarch64", "arm64", "onnx/model_qint8_arm64.onnx"),
    ],
)
def test_quantization_target_follows_cpu_flags(flags, machine, isa, file_name):
    quant = quantization_target(cpuinfo=f"flags\t\t: {flags}\n", machine=machine)
    assert (quant.isa, quant.file_name) == (isa, file_name)


def test_settings_put_the_export_under_the_data_dir(tmp_path):
    assert Settings(data_dir=tmp_path).embedding.onnx_dir == str(tmp_path / "models" / "all-minilm-l6-v2-onnx")
    chosen = str(tmp_path / "elsewhere")
    assert Settings(data_dir=tmp_path, embedding={"onnx_dir": chosen}).embedding.onnx_dir == chosen


def test_export_is_a_copy_with_onnx_graphs_and_no_torch_weights(onnx_dir):
    modules = json.loads((onnx_dir / "modules.json").read_text())
    assert [m["type"] for m in modules][0] == ONNX_MODULE
    assert (onnx_dir / FP32_FILE).is_file()
    assert (onnx_dir / quantization_target().file_name).is_file()
    assert not list(onnx_dir.glob("*.safetensors"))
    # the int8 graph stores weights in one byte: about a quarter of the fp32 file
    assert (onnx_dir / quantization_target().file_name).stat().st_size < 0.35 * (onnx_dir / FP32_FILE).stat().st_size
    manifest = json.loads((onnx_dir / MANIFEST).read_text())
    assert manifest["source"] == str(bundled_model_path())
    assert not (bundled_model_path() / "onnx").exists()  # site-packages is never written


def test_second_ensure_reuses_the_export_and_restores_a_missing_int8_file(onnx_dir):
    fp32_mtime = (onnx_dir / FP32_FILE).stat().st_mtime_ns
    int8 = onnx_dir / quantization_target().file_name
    int8.unlink()
    assert ensure_onnx_model(EmbeddingSettings(onnx_dir=str(onnx_dir))) == onnx_dir
    assert int8.is_file()
    assert (onnx_dir / FP32_FILE).stat().st_mtime_ns == fp32_mtime


def test_changed_source_model_is_exported_again(onnx_dir):
    manifest_path = onnx_dir / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "fingerprint": "from-another-model"}))
    ensure_onnx_model(EmbeddingSettings(onnx_dir=str(onnx_dir)))
    assert json.loads(manifest_path.read_text())["fingerprint"] == manifest["fingerprint"]


def test_kwargs_name_the_graph_of_each_backend(onnx_dir):
    fp32 = onnx_model_kwargs(EmbeddingSettings(backend="onnx", onnx_dir=str(onnx_dir)))
    int8 = onnx_model_kwargs(EmbeddingSettings(backend="onnx-int8", onnx_dir=str(onnx_dir)))
    assert (fp32["model"], fp32["backend"], fp32["model_kwargs"]["file_name"]) == (str(onnx_dir), "onnx", FP32_FILE)
    assert int8["model_kwargs"]["file_name"] == quantization_target().file_name
    with pytest.raises(ConfigError, match="not an ONNX backend"):
        onnx_model_kwargs(EmbeddingSettings(backend="torch", onnx_dir=str(onnx_dir)))


def test_onnx_dir_must_be_known():
    with pytest.raises(ConfigError, match="onnx_dir"):
        ensure_onnx_model(EmbeddingSettings(backend="onnx"))


def test_export_never_goes_into_the_installed_model():
    inside = bundled_model_path() / "onnx-export"
    with pytest.raises(ConfigError, match="inside the model directory"):
        ensure_onnx_model(EmbeddingSettings(backend="onnx", onnx_dir=str(inside)))
    assert not inside.exists()


@pytest.mark.slow
def test_onnx_embeddings_match_torch_on_real_act_text(embeddings, act_texts):
    texts = act_texts["chunks"] + act_texts["headings"]
    reference, fp32, int8 = embeddings["torch"], embeddings["onnx"], embeddings["onnx-int8"]
    assert fp32.shape == int8.shape == reference.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-4)
    fp32_cos = (fp32 * reference).sum(axis=1)
    int8_cos = (int8 * reference).sum(axis=1)
    assert fp32_cos.min() > 0.999, texts[int(fp32_cos.argmin())]
    assert int8_cos.mean() > 0.98, int8_cos.mean()
    assert int8_cos.min() > 0.95, texts[int(int8_cos.argmin())]


@pytest.mark.slow
def test_int8_keeps_the_chunk_each_heading_is_closest_to(embeddings, act_texts):
    """Quantisation noise must not change which chunk a section heading retrieves, for nearly all headings."""
    n = len(act_texts["chunks"])

    def nearest(vectors: np.ndarray) -> np.ndarray:
        return (vectors[n:] @ vectors[:n].T).argmax(axis=1)

    same = nearest(embeddings["torch"]) == nearest(embeddings["onnx-int8"])
    assert same.mean() >= 0.9, same.mean()


def test_index_identity_changes_only_when_the_vectors_do(monkeypatch):
    import kb.onnx_export

    identity = {b: Settings(embedding={"backend": b}).index_identity() for b in ("torch", "onnx", "onnx-int8")}
    # fp32 ONNX reproduces PyTorch (checked at export), so a store built with either serves both
    assert identity["onnx"] == identity["torch"]
    assert identity["onnx-int8"] != identity["torch"]
    # the int8 graph depends on the CPU: uint8 weights on AVX2, int8 weights on AVX-512 and ARM
    monkeypatch.setattr(kb.onnx_export, "quantization_target", lambda: kb.onnx_export.QUANT_CONFIGS["avx2"])
    avx2 = Settings(embedding={"backend": "onnx-int8"}).index_identity()
    monkeypatch.setattr(kb.onnx_export, "quantization_target", lambda: kb.onnx_export.QUANT_CONFIGS["avx512_vnni"])
    vnni = Settings(embedding={"backend": "onnx-int8"}).index_identity()
    monkeypatch.setattr(kb.onnx_export, "quantization_target", lambda: kb.onnx_export.QUANT_CONFIGS["arm64"])
    assert avx2 != vnni == Settings(embedding={"backend": "onnx-int8"}).index_identity()


@pytest.mark.parametrize(("backend", "query_backend", "ok"), [
    ("torch", "onnx", True), ("onnx", "torch", True), ("onnx-int8", "onnx-int8", True), ("torch", None, True),
    ("torch", "onnx-int8", False), ("onnx-int8", "torch", False), ("onnx-int8", "onnx", False),
])
def test_query_backend_must_give_the_stored_vectors_kind(backend, query_backend, ok):
    from pydantic import ValidationError

    if ok:
        settings = EmbeddingSettings(backend=backend, query_backend=query_backend)
        assert settings.query_encoder == (query_backend or backend)
        # The index identity follows the stored vectors only: the query encoder does not change it.
        assert Settings(embedding={"backend": backend, "query_backend": query_backend}).index_identity() == \
            Settings(embedding={"backend": backend}).index_identity()  # fmt: skip
    else:
        with pytest.raises(ValidationError, match="query_backend"):
            EmbeddingSettings(backend=backend, query_backend=query_backend)


def test_onnx_query_encoder_beside_torch_chunks_and_its_thread_limit(onnx_dir):
    import torch

    threads_before = torch.get_num_threads()  # limit_threads also sets PyTorch's process-wide threads
    try:
        _check_onnx_query_encoder(onnx_dir)
    finally:
        torch.set_num_threads(threads_before)


def _check_onnx_query_encoder(onnx_dir: Path) -> None:
    from kb.onnx_module import OnnxEncoderModel

    settings = EmbeddingSettings(backend="torch", query_backend="onnx", onnx_dir=str(onnx_dir))
    encoder = Encoder(settings)
    encoder.limit_threads(1)  # before warm-up, as the server does: applied when the session is made
    query = "duty of the police to record the statement of a child"
    vector = np.asarray(encoder.embed_query(query))
    [chunk_vector] = encoder.embed_texts([query])
    assert float(vector @ np.asarray(chunk_vector)) > 0.999  # ONNX fp32 query ~ PyTorch chunk of the same text

    def sessions(embedder) -> list[OnnxEncoderModel]:
        return [m for m in embedder.embedding_backend.model.modules() if isinstance(m, OnnxEncoderModel)]

    [model] = sessions(encoder.text_embedder)
    assert sessions(encoder.document_embedder) == []  # chunks stay with PyTorch
    # Sentences scored while answering go through the query encoder: the same ONNX session.
    assert sessions(encoder.span_embedder) == [model]
    [span_vector] = encoder.embed_spans([query])
    assert float(np.asarray(span_vector) @ np.asarray(chunk_vector)) > 0.999
    assert model.threads == 1 and model.session.get_session_options().intra_op_num_threads == 1
    encoder.limit_threads(2)  # after warm-up: the session is made again
    assert model.threads == 2 and model.session.get_session_options().intra_op_num_threads == 2
    encoder._recent.clear()
    assert float(np.asarray(encoder.embed_query(query)) @ vector) > 0.9999


STORE_ACTS = {
    "pocso": ("the-protection-of-children-from-sexual-offences-act-2012",),
    "jj": ("the-juvenile-justice-care-and-protection-of-children-act-2015",),
}


@pytest.fixture(scope="module")
def dense_rankings(onnx_dir, shared_sources, dev_questions_path, tmp_path_factory) -> dict:
    """Per backend: the dense-only top 5 provisions for each dev question about POCSO or the JJ Act,
    from a real SQLite store of those two Acts ingested with that backend."""
    from ingest.pipeline import Ingestor
    from kb.evaluation.dev import load_questions
    from kb.retrieval.search import Searcher
    from kb.stores.factory import open_store

    files = [f for dirs in STORE_ACTS.values() for d in dirs for f in sorted((shared_sources / "indiacode-md" / d).glob("part-*.md"))]
    questions = [q for q in load_questions(dev_questions_path) if q.gold and q.gold[0].split(":")[0] in STORE_ACTS]
    assert len(questions) >= 10, len(questions)
    dense_only = {"bm25_weight": 0.0, "dense_weight": 1.0, "heading_weight": 0.0, "coverage_weight": 0.0,
                  "intent_weight": 0.0, "explicit_boost": 0.0}  # fmt: skip
    out = {"questions": questions}
    for backend in ("torch", "onnx", "onnx-int8"):
        settings = Settings(data_dir=tmp_path_factory.mktemp(f"store-{backend}"), retrieval=dense_only,
                            embedding={"backend": backend, "onnx_dir": str(onnx_dir)})  # fmt: skip
        encoder = Encoder(settings.embedding)
        store = open_store(settings)
        try:
            report = Ingestor(store, encoder, settings).ingest(files, prune=False)
            assert not report.failed and report.chunks > 100, report.failed
            searcher = Searcher(store, encoder, settings)
            out[backend] = [[h.provision_key for h in searcher.search(q.question, top_k=5).hits] for q in questions]
            if backend == "torch":  # the same PyTorch-built store, queried through ONNX fp32
                onnx_queries = settings.embedding.model_copy(update={"query_backend": "onnx"})
                searcher = Searcher(store, Encoder(onnx_queries), settings)
                out["torch+onnx-queries"] = [[h.provision_key for h in searcher.search(q.question, top_k=5).hits]
                                             for q in questions]  # fmt: skip
        finally:
            store.close()
    return out


@pytest.mark.slow
def test_int8_store_retrieves_the_provisions_the_torch_store_does(dense_rankings):
    questions = dense_rankings["questions"]

    def hits(backend: str) -> int:
        return sum(1 for q, ranked in zip(questions, dense_rankings[backend], strict=True) if q.gold[0] in ranked)

    torch_hits = hits("torch")
    assert torch_hits >= 0.6 * len(questions), (torch_hits, len(questions))  # the comparison means something
    assert hits("onnx") == torch_hits
    assert dense_rankings["torch+onnx-queries"] == dense_rankings["torch"]  # same provisions, same order
    assert hits("onnx-int8") >= torch_hits - 1, (hits("onnx-int8"), torch_hits)
    same_top1 = sum(1 for a, b in zip(dense_rankings["torch"], dense_rankings["onnx-int8"], strict=True) if a[:1] == b[:1])
    assert same_top1 >= len(questions) - 2, (same_top1, len(questions))
