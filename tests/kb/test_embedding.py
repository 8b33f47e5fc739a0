"""The packaged encoder: offline load, normalised vectors, and the thread limit the server applies."""

from __future__ import annotations

import numpy as np
import torch

from kb.embedding import Encoder
from kb.settings import EmbeddingSettings


def test_query_vectors_are_unit_length_and_rank_the_matching_provision_first():
    encoder = Encoder(EmbeddingSettings())
    query = np.array(encoder.embed_query("punishment for storing child pornography"))
    texts = encoder.embed_texts([
        "Any person who stores or possesses pornographic material in any form involving a child shall be punished.",
        "Every school shall constitute a School Management Committee.",
    ])
    assert abs(np.linalg.norm(query) - 1.0) < 1e-4
    scores = [float(query @ np.array(t)) for t in texts]
    assert scores[0] > scores[1] + 0.2, scores


def test_limit_threads_sets_torch_intra_op_threads_and_zero_keeps_the_default():
    before = torch.get_num_threads()
    encoder = Encoder(EmbeddingSettings())
    try:
        encoder.limit_threads(0)
        assert torch.get_num_threads() == before
        encoder.limit_threads(1)
        assert torch.get_num_threads() == 1
        # Same vectors with one thread (up to float rounding).
        one = np.array(encoder.embed_query("mandatory reporting of sexual offences"))
        torch.set_num_threads(max(before, 2))
        many = np.array(encoder.embed_query("mandatory reporting of sexual offences"))
        assert float(one @ many) > 0.9999
    finally:
        torch.set_num_threads(before)


def test_recent_query_vectors_are_reused_and_the_oldest_dropped():
    encoder = Encoder(EmbeddingSettings())
    first = encoder.embed_query("who must report a sexual offence against a child")
    again = encoder.embed_query("who must report a sexual offence against a child")
    assert again == first and again is not first  # a copy: callers may change their list
    again.append(0.0)
    assert len(encoder.embed_query("who must report a sexual offence against a child")) == len(first)
    for i in range(Encoder.RECENT_QUERIES):
        encoder.embed_query(f"query number {i}")
    assert len(encoder._recent) == Encoder.RECENT_QUERIES
    assert "who must report a sexual offence against a child" not in encoder._recent
