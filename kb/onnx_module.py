"""A Sentence-Transformers ``Transformer`` module whose forward pass runs in ONNX Runtime.

Sentence-Transformers runs ``backend="onnx"`` through the ``optimum-onnx`` package, whose only
release caps ``transformers`` below the 5.x line this product pins, so it cannot be installed
beside it. This module keeps everything else of Sentence-Transformers (tokenisation, truncation
at ``max_seq_length``, length-sorted batching, mean pooling and normalisation from the model's
own ``modules.json``) and replaces only the network: the model directory written by
:func:`kb.onnx_export.ensure_onnx_model` names this class in its ``modules.json``, and
``model_kwargs={"file_name": "onnx/model.onnx"}`` chooses the graph, exactly the keyword
Sentence-Transformers uses for its own ONNX exports.

    >>> from sentence_transformers import SentenceTransformer                   # doctest: +SKIP
    >>> model = SentenceTransformer(str(onnx_dir), backend="onnx", trust_remote_code=True,
    ...                             model_kwargs={"file_name": "onnx/model_qint8_avx2.onnx"})
    >>> model.encode(["duty to report an offence"]).shape                       # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from sentence_transformers.sentence_transformer.modules import Transformer
from transformers.modeling_outputs import BaseModelOutput

from kb.errors import ConfigError

DEFAULT_FILE = "onnx/model.onnx"
CPU_PROVIDER = "CPUExecutionProvider"


class OnnxEncoderModel(torch.nn.Module):
    """Stands in for the Hugging Face encoder: same inputs, ``last_hidden_state`` out, computed by ORT.

    :param path: the ``.onnx`` graph (inputs ``input_ids``, ``attention_mask``, ``token_type_ids``).
    :param config: the model's transformers config (Sentence-Transformers reads sizes from it).
    :param threads: ONNX Runtime intra-op threads; 0 lets it use every physical core.
    """

    def __init__(self, path: Path, config: Any, *, provider: str = CPU_PROVIDER, threads: int = 0) -> None:
        super().__init__()
        if not path.is_file():
            raise ConfigError(f"ONNX model file not found: {path} (rebuild it with kb.onnx_export.ensure_onnx_model)",
                              path=str(path))  # fmt: skip
        self.config = config
        self.path = path
        self.provider = provider
        self.threads = threads
        self.session = self._session(threads)
        self.input_names = [i.name for i in self.session.get_inputs()]

    def _session(self, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1  # the graph is a chain: parallel branches gain nothing
        return ort.InferenceSession(str(self.path), options, providers=[self.provider])

    def set_threads(self, threads: int) -> None:
        """Run with ``threads`` intra-op threads from now on (0: every physical core). ONNX Runtime
        fixes its pool when a session is created, so the session is created again (well under a
        second). A session runs calls from several threads at once, so swapping it is safe."""
        if threads != self.threads:
            self.session, self.threads = self._session(threads), threads

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                **_ignored: Any):  # fmt: skip
        # No return annotation on purpose: Sentence-Transformers then reads the default
        # "last_hidden_state" output instead of inspecting a (string) annotation.
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask,
                 "token_type_ids": token_type_ids if token_type_ids is not None else torch.zeros_like(input_ids)}  # fmt: skip
        arrays = {name: feeds[name].detach().cpu().numpy().astype(np.int64, copy=False) for name in self.input_names}
        (hidden,) = self.session.run(["last_hidden_state"], arrays)
        return BaseModelOutput(last_hidden_state=torch.from_numpy(hidden))


class OnnxTransformer(Transformer):
    """``sentence_transformers``' ``Transformer`` module with the network loaded from an ONNX file.

    ``model_kwargs`` understood: ``file_name`` (relative to the model directory, default
    ``onnx/model.onnx``), ``provider`` (default CPU) and ``intra_op_num_threads``.
    """

    def _load_model(self, model_name_or_path: str, transformer_task: str, config: Any, backend: str,
                    is_peft_model: bool, **model_kwargs: Any) -> OnnxEncoderModel:  # fmt: skip
        if transformer_task != "feature-extraction" or is_peft_model:
            raise ConfigError(f"the ONNX encoder supports plain feature extraction only, not {transformer_task!r}",
                              task=transformer_task)  # fmt: skip
        root = Path(model_name_or_path)
        path = (root / model_kwargs.get("subfolder", "") / model_kwargs.get("file_name", DEFAULT_FILE)).resolve()
        if not path.is_relative_to(root.resolve()):
            raise ConfigError(f"ONNX file_name must stay inside the model directory {root}, got {path}", path=str(path))
        return OnnxEncoderModel(path, config, provider=model_kwargs.get("provider", CPU_PROVIDER),
                                threads=int(model_kwargs.get("intra_op_num_threads", 0)))  # fmt: skip
