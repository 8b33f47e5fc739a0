"""ONNX Runtime encoders: export the bundled model once, offline, into the data directory.

``ensure_onnx_model`` copies the model directory (configuration, tokenizer, pooling; not the
PyTorch weights) to ``embedding.onnx_dir`` (default ``<data_dir>/models/<model>-onnx``) and
writes, beside it, the ONNX graphs the two ONNX backends load:

* ``onnx/model.onnx``: fp32. Exported from PyTorch with eager attention (the pattern ONNX
  Runtime's BERT fuser recognises), then fused into ``Attention``/``SkipLayerNormalization``/
  ``BiasGelu`` kernels: the same arithmetic in fewer, larger operators.
* ``onnx/model_<qint8|quint8>_<isa>.onnx``: int8, dynamic quantisation of that fused graph with the
  settings of Optimum's ``AutoQuantizationConfig.<isa>(is_static=False)`` for this CPU
  (``avx512_vnni``, ``avx512``, ``avx2`` or ``arm64``): per-channel symmetric weights, asymmetric
  uint8 activations. The file name is the one Sentence-Transformers'
  ``export_dynamic_quantized_onnx_model`` would write.

Nothing is downloaded and site-packages is never written. An ``export.json`` manifest records
where the weights came from; a different model (or a newer export format) is exported again.
The Optimum route Sentence-Transformers documents for ``backend="onnx"`` is not used because
``optimum-onnx`` caps ``transformers`` below the 5.x line this product pins; the model
directory instead names :class:`kb.onnx_module.OnnxTransformer` in its ``modules.json``.

    >>> kwargs = onnx_model_kwargs(settings.embedding)                    # doctest: +SKIP
    >>> kwargs["model_kwargs"]
    {'file_name': 'onnx/model_qint8_avx512_vnni.onnx', 'provider': 'CPUExecutionProvider'}
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from kb.errors import ConfigError
from kb.settings import EmbeddingSettings

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1  # bump when the export steps change: older exports are redone
MANIFEST = "export.json"
FP32_FILE = "onnx/model.onnx"
ONNX_MODULE = "kb.onnx_module.OnnxTransformer"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".ckpt")
_SKIP = {".gitattributes", "onnx", "openvino", MANIFEST}
_OPSET = 17


@dataclass(frozen=True)
class QuantConfig:
    """Optimum's ``AutoQuantizationConfig.<isa>(is_static=False)`` in ONNX Runtime's own terms."""

    isa: str
    weight_type: str  # "QInt8" | "QUInt8" (onnxruntime.quantization.QuantType member)
    reduce_range: bool = False
    per_channel: bool = True

    @property
    def file_name(self) -> str:
        return f"onnx/model_{self.weight_type.lower()}_{self.isa}.onnx"


# u8 x s8 on AVX2 without VNNI can saturate the 16-bit VPMADDUBSW sums, hence uint8 weights there.
QUANT_CONFIGS = {
    "avx512_vnni": QuantConfig("avx512_vnni", "QInt8"),
    "avx512": QuantConfig("avx512", "QInt8"),
    "avx2": QuantConfig("avx2", "QUInt8"),
    "arm64": QuantConfig("arm64", "QInt8"),
}


def quantization_target(cpuinfo: str | None = None, machine: str | None = None) -> QuantConfig:
    """The int8 configuration for this CPU, from ``/proc/cpuinfo`` flags (or the values given)."""
    machine = (machine or platform.machine()).lower()
    if machine in ("arm64", "aarch64"):
        return QUANT_CONFIGS["arm64"]
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
    flags = set(cpuinfo.split())
    if "avx512_vnni" in flags or "avx_vnni" in flags:
        return QUANT_CONFIGS["avx512_vnni"]
    if "avx512bw" in flags:
        return QUANT_CONFIGS["avx512"]
    return QUANT_CONFIGS["avx2"]


def require_onnxruntime() -> None:
    """Raise :class:`ConfigError` with the install hint when the ``onnx`` extra is missing."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        raise ConfigError(f"embedding backends 'onnx' and 'onnx-int8' need onnxruntime and onnx "
                          f"(pip install '.[onnx]'): {err}", missing=err.name) from err  # fmt: skip


def default_onnx_dir(data_dir: Path, model: str) -> Path:
    slug = model.rsplit("/", 1)[-1].lower().replace("_", "-")
    return Path(data_dir) / "models" / f"{slug}-onnx"


def onnx_model_kwargs(settings: EmbeddingSettings) -> dict:
    """Keyword arguments for Haystack's Sentence-Transformers embedders for ``settings.backend``.

    Cheap: the settings are checked but nothing is exported; call :func:`ensure_onnx_model`
    before loading (``Encoder.warm_up`` does). ``trust_remote_code`` lets Sentence-Transformers
    import the ONNX module class our own ``modules.json`` names; the directory is written by this
    module and nothing is fetched.
    """
    if settings.backend not in ("onnx", "onnx-int8"):
        raise ConfigError(f"not an ONNX backend: {settings.backend!r}", backend=settings.backend)
    require_onnxruntime()
    path = export_dir(settings)
    file_name = FP32_FILE if settings.backend == "onnx" else quantization_target().file_name
    return {
        "model": str(path),
        "backend": "onnx",
        "trust_remote_code": True,
        "model_kwargs": {"file_name": file_name, "provider": "CPUExecutionProvider"},
    }


def ensure_onnx_model(settings: EmbeddingSettings, data_dir: Path | None = None) -> Path:
    """The directory holding a current ONNX export of the embedding model; exports it when needed.

    The directory is ``settings.onnx_dir``, else ``<data_dir>/models/<model>-onnx``. The int8
    variant for this CPU is added to an existing export when it is missing.
    """
    from kb.embedding import model_path  # kb.embedding imports this module lazily, never at import time

    require_onnxruntime()
    target = export_dir(settings, data_dir)
    source = Path(model_path(settings))
    quant = quantization_target()
    fingerprint = source_fingerprint(source)
    manifest = _read_manifest(target)
    if manifest.get("fingerprint") != fingerprint or manifest.get("format") != EXPORT_FORMAT \
            or not (target / FP32_FILE).is_file():  # fmt: skip
        _export_into(target, source, fingerprint, quant)
    elif not (target / quant.file_name).is_file():
        _atomic_quantize(target, quant)
        _write_manifest(target, {**manifest, "int8": sorted({*manifest.get("int8", []), quant.file_name})})
    return target


def export_dir(settings: EmbeddingSettings, data_dir: Path | None = None) -> Path:
    """Where the export of ``settings.model`` lives; never inside the installed model directory."""
    from kb.embedding import model_path

    if settings.onnx_dir:
        target = Path(settings.onnx_dir)
    elif data_dir is not None:
        target = default_onnx_dir(data_dir, settings.model)
    else:
        raise ConfigError("embedding.onnx_dir is not set and no data directory was given", field="embedding.onnx_dir")
    source = Path(model_path(settings))
    if target.resolve().is_relative_to(source.resolve()):
        raise ConfigError(f"embedding.onnx_dir {target} lies inside the model directory {source}; "
                          "the export must go elsewhere (the data directory)", path=str(target))  # fmt: skip
    return target


def source_fingerprint(source: Path) -> str:
    """Identity of the model files: content of the small files, size and mtime of the weights."""
    digest = hashlib.sha256()
    for path in sorted(p for p in source.rglob("*") if p.is_file() and not _skipped(p.relative_to(source))):
        rel = path.relative_to(source).as_posix()
        digest.update(rel.encode())
        if path.suffix in _WEIGHT_SUFFIXES:
            stat = path.stat()  # hashing ~90 MB on every start would cost more than it protects
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
        else:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _skipped(rel: Path) -> bool:
    return rel.parts[0] in _SKIP


def _read_manifest(target: Path) -> dict:
    try:
        return json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as err:
        log.warning("unreadable ONNX export manifest %s (%s); exporting again", target / MANIFEST, err)
        return {}


def _write_manifest(target: Path, manifest: dict) -> None:
    tmp = target / f".{MANIFEST}.{os.getpid()}"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, target / MANIFEST)


# --- the export ----------------------------------------------------------------------------
def _export_into(target: Path, source: Path, fingerprint: str, quant: QuantConfig) -> None:
    """Build the export in a sibling temp directory, then swap it in whole (readers never see half)."""
    import onnxruntime

    log.info("exporting the embedding model %s to ONNX in %s (once)", source, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        work.chmod(0o755)  # mkdtemp makes it private; the export is as readable as the store beside it
        _copy_model_dir(source, work)
        _export_fp32(source, work / FP32_FILE)
        _quantize(work / FP32_FILE, work / quant.file_name, quant)
        _write_manifest(work, {
            "format": EXPORT_FORMAT, "fingerprint": fingerprint, "source": str(source), "fp32": FP32_FILE,
            "int8": [quant.file_name], "opset": _OPSET, "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
        })  # fmt: skip
        _swap_in(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _swap_in(work: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old.{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    try:
        os.replace(work, target)
    except OSError:
        if not target.exists() and old.exists():
            os.replace(old, target)  # put the previous export back rather than leave nothing
        raise
    shutil.rmtree(old, ignore_errors=True)


def _copy_model_dir(source: Path, dest: Path) -> None:
    """Configuration, tokenizer and pooling files; ``modules.json`` pointing at the ONNX module."""
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if _skipped(rel) or not path.is_file() or path.suffix in _WEIGHT_SUFFIXES:
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest / rel)
    modules_file = dest / "modules.json"
    try:
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"{source / 'modules.json'}: not a Sentence-Transformers model ({err})",
                          path=str(source)) from err  # fmt: skip
    transformers = [m for m in modules if str(m.get("type", "")).rsplit(".", 1)[-1] == "Transformer"]
    if len(transformers) != 1:
        raise ConfigError(f"{modules_file.name} of {source} must list exactly one Transformer module, "
                          f"found {len(transformers)}", path=str(source))  # fmt: skip
    transformers[0]["type"] = ONNX_MODULE
    modules_file.write_text(json.dumps(modules, indent=2), encoding="utf-8")


class _HiddenStates(torch.nn.Module):
    """Positional inputs, one tensor out: the signature the TorchScript exporter traces cleanly."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state


def _export_fp32(source: Path, out: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    out.parent.mkdir(parents=True, exist_ok=True)
    # Eager attention exports the MatMul/Softmax pattern ORT fuses into one Attention kernel;
    # the SDPA export stays unfused and runs slower once quantised.
    model = AutoModel.from_pretrained(source, local_files_only=True, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    sample = tokenizer(["Punishment for sexual assault on a child.", "Duty to report."], padding=True,
                       return_tensors="pt")  # fmt: skip
    names = ["input_ids", "attention_mask", "token_type_ids"]
    inputs = tuple(sample[n] if n in sample else torch.zeros_like(sample["input_ids"]) for n in names)
    raw = out.with_name("raw.onnx")
    # eval() on the wrapper too: the exporter restores the wrapper's mode afterwards, recursively,
    # and a wrapper left in training mode would switch dropout back on in the model.
    wrapped = _HiddenStates(model).eval()
    with torch.inference_mode(), warnings.catch_warnings():
        # The tracer warns about a padding branch (never taken: the mask always spans the sequence)
        # and about negative gather indices (none are used); _check_close below verifies the graph.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
        expected = wrapped(*inputs).numpy()
        torch.onnx.export(
            wrapped, inputs, str(raw), input_names=names, output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]},
            opset_version=_OPSET, dynamo=False, do_constant_folding=True,
        )  # fmt: skip
    _fuse(raw, out, model.config)
    raw.unlink()
    _check_close(out, names, inputs, expected)


def _fuse(raw: Path, out: Path, config) -> None:
    from onnxruntime.transformers.optimizer import optimize_model

    if config.model_type not in ("bert", "roberta", "distilbert", "xlm-roberta", "mpnet"):
        shutil.copyfile(raw, out)  # ORT's fuser knows these encoders; others run unfused, still correct
        return
    # opt_level=0: graph rewrites in Python only, so the file is not tied to this CPU's kernels.
    model_type = "bert" if config.model_type in ("roberta", "xlm-roberta", "mpnet") else config.model_type
    fused = optimize_model(str(raw), model_type=model_type, num_heads=config.num_attention_heads,
                           hidden_size=config.hidden_size, opt_level=0, use_gpu=False)  # fmt: skip
    fused.save_model_to_file(str(out))


def _check_close(path: Path, names: list[str], inputs: tuple, expected) -> None:
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}
    got = session.run(None, {n: t.numpy() for n, t in zip(names, inputs, strict=True) if n in wanted})[0]
    mask = inputs[1].numpy().astype(bool)
    error = float(np.abs(got[mask] - expected[mask]).max())
    if error > 1e-3:
        raise ConfigError(f"ONNX export of the embedding model differs from PyTorch by {error:.2e} (> 1e-3)",
                          path=str(path), error=error)  # fmt: skip


def _quantize(fp32: Path, out: Path, quant: QuantConfig) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_root_logger():
        quantize_dynamic(
            str(fp32), str(out), per_channel=quant.per_channel, reduce_range=quant.reduce_range,
            weight_type=getattr(QuantType, quant.weight_type),
            # Shape inference cannot type the outputs of fused contrib ops; they are float32.
            extra_options={"WeightSymmetric": True, "ActivationSymmetric": False,
                           "DefaultTensorType": onnx.TensorProto.FLOAT},
        )  # fmt: skip


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    # ONNX Runtime's quantiser logs a line per tensor through the root logger at INFO, and a
    # generic "consider pre-processing" advice at WARNING (its shape inference; our fused graph
    # is typed through DefaultTensorType instead).
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)


def _atomic_quantize(target: Path, quant: QuantConfig) -> None:
    log.info("adding the %s int8 variant to the ONNX export in %s", quant.isa, target)
    final = target / quant.file_name
    tmp = final.with_name(f".{final.name}.{os.getpid()}")
    try:
        _quantize(target / FP32_FILE, tmp, quant)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
