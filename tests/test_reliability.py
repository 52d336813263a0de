"""No command destroys or silently stales a good index; every failure is one clear line with
the right exit code.

Everything runs through the real command in a real process (`python -m rag.cli`) on real
Chroma on disk; the config names the hashing embedder of tests/fakes.py by dotted path
(`embedding.backend: tests.fakes:HASH_BACKEND`), so a command takes a second or two.
Crashes are real SIGKILLs at each step of an ingest (RAG_INGEST_KILL_AT); a full disk is a
small tmpfs and a read-only disk a read-only bind mount when the tests run as root (else a
directory without write permission, or the case is skipped with the reason).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evals.synth import write_corpus
from rag.config import DEFAULT_CORPUS, PROJECT_ROOT, config_from_dict
from rag.index.lexical import LexicalIndex
from rag.index.store import open_store
from rag.pipeline import ingest
from tests.fakes import HashEmbedder

CLI = [sys.executable, "-m", "rag.cli"]
QUESTION, ANSWER = "卢旺达ICT与创新部长是谁？", "Paula Ingabire"
DONATION = "003_f37bc0b3fb1d0fae.txt"
NEW_FACT = "\n补充：2031年量子计算峰会将在赫尔辛基举行，由卢旺达ICT部主办。\n"
NEW_QUESTION, NEW_ANSWER = "2031年量子计算峰会将在哪里举行？", "赫尔辛基"


class Site:
    """A corpus, a data dir and a config file, driven through the command line."""

    def __init__(self, root: Path, **config):
        self.root = root
        self.corpus = root / "corpus"
        self.data = root / "data"
        if not self.corpus.exists():
            shutil.copytree(DEFAULT_CORPUS, self.corpus)
        self.cfg_path = root / "rag.yaml"
        # fake-hash-unk: dense retrieval skipped, as for the default model on Chinese (readers
        # never open Chroma); fake-hash-64 where a reader must open Chroma
        data = {"corpus": {"path": str(self.corpus)}, "data_dir": str(self.data),
                "embedding": {"backend": "tests.fakes:HASH_BACKEND", "model": "fake-hash-unk"}}
        for key, value in config.items():
            data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
        self.cfg_path.write_text(json.dumps(data))
        self.emb = HashEmbedder(name=data["embedding"]["model"],
                                unk=0.58 if data["embedding"]["model"] == "fake-hash-unk" else 0.0)

    @property
    def cfg(self):
        return config_from_dict(json.loads(self.cfg_path.read_text()))

    def run(self, *args, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(CLI + ["--config", str(self.cfg_path), *args], capture_output=True, text=True,
                              timeout=timeout, cwd=PROJECT_ROOT, env={**os.environ, **(env or {})})

    def popen(self, *args, env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen(CLI + ["--config", str(self.cfg_path), *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT,
                                env={**os.environ, **(env or {})})

    def ingest_here(self, **kw):
        return ingest(self.cfg, embedder=self.emb, progress=False, **kw)

    def ask(self, question: str = QUESTION) -> str:
        r = self.run("ask", question)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def lexical(self) -> LexicalIndex:
        return LexicalIndex.load(self.data / "lexical")

    def store_ids(self) -> set[str]:
        _forget_chroma_clients()
        return {c.id for c in open_store(self.cfg, self.emb.name).open_for_read().all_chunks()}

    def generations(self) -> list[str]:
        _forget_chroma_clients()
        return open_store(self.cfg, self.emb.name).generations()

    def assert_consistent(self) -> None:
        """The lexical index and the live collection hold the same chunks, and the ingest
        record matches the corpus: a further run embeds nothing and repairs nothing."""
        assert {c.id for c in self.lexical().chunks} == self.store_ids()
        assert self.generations() == [self.lexical().meta["collection"]]
        again = self.run("ingest")
        assert again.returncode == 0, again.stderr
        assert "0 embedded this run" in again.stdout and "note:" not in again.stdout, again.stdout


def _forget_chroma_clients() -> None:
    # This process's cached Chroma client may still hold files another process replaced.
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def one_line_error(r: subprocess.CompletedProcess, code: int, *needles: str) -> str:
    """The command failed with `code` and said why in exactly one line, no traceback."""
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, r.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def site(tmp_path) -> Site:
    s = Site(tmp_path, embedding={"batch_size": 1})  # small batches: a write per article
    s.ingest_here()
    return s


@pytest.fixture
def dense_site(tmp_path) -> Site:
    s = Site(tmp_path, embedding={"model": "fake-hash-64"})
    s.ingest_here()
    return s


def _held(lock: Path) -> bool:
    with open(lock, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


@contextlib.contextmanager
def lock_held_by_another_process(data: Path):
    holder = subprocess.Popen(["flock", "-x", str(data / "ingest.lock"), "sleep", "60"], start_new_session=True)
    try:
        deadline = time.time() + 10
        while not _held(data / "ingest.lock"):
            assert time.time() < deadline, "flock did not take the lock"
            time.sleep(0.05)
        yield
    finally:
        os.killpg(holder.pid, signal.SIGKILL)  # flock and the sleep that inherited the lock
        holder.wait()


def wait_stopped(proc: subprocess.Popen, timeout: float = 60) -> None:
    """Until the process has stopped itself at its checkpoint (state T in /proc)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "T":
            return
        time.sleep(0.05)
    raise AssertionError("the ingest did not reach its checkpoint")


# -- 1. a refused or interrupted --rebuild keeps the index ----------------------------------

@pytest.mark.skipif(shutil.which("flock") is None, reason="needs the flock command (util-linux)")
def test_refused_rebuild_keeps_the_index(site):
    before = site.lexical().meta
    with lock_held_by_another_process(site.data):
        r = site.run("ingest", "--rebuild")
        one_line_error(r, 75, "another ingest")
        assert site.lexical().meta == before  # nothing deleted, nothing rewritten
        assert ANSWER in site.ask()  # a new reader process answers from the index
        one_line_error(site.run("restore", str(site.root / "nowhere")), 2, "not a backup")
    assert ANSWER in site.ask()
    site.assert_consistent()


def test_rebuild_is_built_beside_the_live_index_and_readers_keep_answering(dense_site):
    """Items 1 and 11: while `ingest --rebuild` holds the lock (frozen right after writing the
    new collection), a new `rag ask` process answers from the old index (opening Chroma's old
    collection) and a second ingest is told to wait; the new index appears in one swap."""
    site = dense_site
    old = site.generations()
    proc = site.popen("ingest", "--rebuild", env={"RAG_INGEST_STOP_AT": "store-written"})
    try:
        wait_stopped(proc)
        assert len(site.generations()) == 2 and site.lexical().meta["collection"] == old[0]
        assert ANSWER in site.ask()
        one_line_error(site.run("ingest"), 75, "another ingest")
    finally:
        proc.send_signal(signal.SIGCONT)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert site.generations() != old and len(site.generations()) == 1
    assert ANSWER in site.ask()
    site.assert_consistent()


@pytest.mark.skipif(shutil.which("flock") is None, reason="needs the flock command (util-linux)")
def test_ask_before_the_first_index_is_built_says_wait(tmp_path):
    """Item 11: with no index yet and another process building it, a reader is told to wait."""
    site = Site(tmp_path)
    site.data.mkdir()
    with lock_held_by_another_process(site.data):
        one_line_error(site.run("ask", QUESTION), 75, "another process is building it")


@pytest.mark.parametrize("step", ["store-batch", "store-written", "lexical-written"])
def test_kill_9_during_rebuild_loses_nothing(site, step):
    before = {c.id for c in site.lexical().chunks}
    r = site.run("ingest", "--rebuild", env={"RAG_INGEST_KILL_AT": step})
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert ANSWER in site.ask()  # the old index, or the new one if the swap happened
    assert {c.id for c in site.lexical().chunks} == before  # same corpus: same chunks
    again = site.run("ingest")
    assert again.returncode == 0, again.stderr
    site.assert_consistent()


# -- 2. an empty or wrong folder is refused --------------------------------------------------

def test_empty_or_wrong_folder_is_refused_and_the_index_kept(site, tmp_path):
    count = len(site.lexical())
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(site.run("ingest", str(empty)), 2, "no loadable articles", "--allow-empty", "holds 4 articles")
    one_line_error(site.run("ingest", str(tmp_path / "typo")), 2, "corpus folder not found")
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(site.corpus / DONATION, partial / DONATION)
    one_line_error(site.run("ingest", str(partial)), 2, "remove 3 of the 4", "--prune")
    one_line_error(site.run("ingest", "--rebuild", str(empty)), 2, "no loadable articles")
    assert len(site.lexical()) == count and ANSWER in site.ask()
    site.assert_consistent()

    no_ext = Site(tmp_path / "no-ext", corpus={"extensions": []})
    one_line_error(no_ext.run("ingest"), 2, "`corpus.extensions`")

    pruned = site.run("ingest", str(partial), "--prune")
    assert pruned.returncode == 0 and "3 removed" in pruned.stdout, pruned.stderr
    emptied = site.run("ingest", str(empty), "--allow-empty")
    assert emptied.returncode == 0 and "1 removed" in emptied.stdout, emptied.stderr
    assert len(site.lexical()) == 0


# -- 4. an interrupted incremental ingest is finished by the next ---------------------------

@pytest.mark.parametrize("step", ["planned", "store-batch", "store-written", "lexical-written"])
def test_kill_9_during_incremental_ingest_then_rerun_finishes(site, tmp_path, step):
    for name in (DONATION, "001_8dbdee58fc56f9ec.txt"):
        path = site.corpus / name
        path.write_text(path.read_text(encoding="utf-8") + NEW_FACT.replace("ICT", name[:3]), encoding="utf-8")
    r = site.run("ingest", env={"RAG_INGEST_KILL_AT": step})
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert ANSWER in site.ask()
    again = site.run("ingest")
    assert again.returncode == 0, again.stderr
    if step == "store-written":  # the store had everything, the BM25 index had nothing
        assert "0 embedded this run" in again.stdout and "did not match the vector store" in again.stdout
    assert NEW_ANSWER in site.ask(NEW_QUESTION)
    assert sum("赫尔辛基" in c.text for c in site.lexical().chunks) >= 2
    site.assert_consistent()
    # the same chunks as a clean ingest of the same corpus
    fresh = Site(tmp_path / "fresh")
    shutil.rmtree(fresh.corpus)
    shutil.copytree(site.corpus, fresh.corpus)
    fresh.ingest_here()
    assert {c.id for c in fresh.lexical().chunks} == {c.id for c in site.lexical().chunks}


# -- 5. duplicates: one copy, the one already indexed ----------------------------------------

def test_copy_of_an_indexed_file_is_not_indexed_twice(site):
    copy = "002_zcopy.txt"  # sorts before the original
    shutil.copy(site.corpus / DONATION, site.corpus / copy)
    r = site.run("ingest")
    assert r.returncode == 0, r.stderr
    assert f"skipped {copy}: same content as {DONATION}" in r.stdout and "0 embedded" in r.stdout
    assert {c.article_id for c in site.lexical().chunks} == {p.name for p in DEFAULT_CORPUS.iterdir()}
    cited = site.run("ask", "--json", "Anthropic向哪个组织捐赠了2000万美元？")
    assert {c["source"] for c in json.loads(cited.stdout)["citations"]} == {DONATION}
    # an indexed file overwritten with another's content is removed, not kept as a copy
    other = "001_8dbdee58fc56f9ec.txt"
    shutil.copy(site.corpus / DONATION, site.corpus / other)
    r = site.run("ingest")
    assert f"skipped {other}: same content as {DONATION}" in r.stdout and f"removed {other}" in r.stdout
    assert other not in {c.article_id for c in site.lexical().chunks}
    site.assert_consistent()


# -- 6. Chroma failures are diagnosed before advice is given ---------------------------------

def test_damaged_lexical_index_is_repaired_by_a_plain_ingest(site):
    chunks = site.data / "lexical" / "chunks.jsonl"
    chunks.write_text(chunks.read_text()[:500])  # truncated
    one_line_error(site.run("ask", QUESTION), 2, "damaged", "rag ingest")
    r = site.run("ingest")
    assert r.returncode == 0 and "0 embedded" in r.stdout, r.stderr
    assert ANSWER in site.ask()
    site.assert_consistent()


def test_damaged_chroma_says_rebuild_and_rebuild_recovers(dense_site):
    site = dense_site
    (site.data / "chroma" / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    for args in (("ingest",), ("ask", QUESTION)):
        one_line_error(site.run(*args), 2, "damaged", "rag ingest --rebuild")
    r = site.run("ingest", "--rebuild")
    assert r.returncode == 0 and "4 added" in r.stdout, r.stderr
    assert ANSWER in site.ask()
    assert not list(site.data.glob("chroma.damaged-*"))
    site.assert_consistent()


def _can_mount() -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    probe = Path(f"/tmp/.rag-mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe)],
                        capture_output=True).returncode == 0
    if ok:
        subprocess.run(["umount", str(probe)], check=True)
    probe.rmdir()
    return ok


CAN_MOUNT = _can_mount()


@contextlib.contextmanager
def read_only(path: Path):
    """A read-only bind mount over `path` as root; otherwise, without write permission
    (which root would ignore, so that case is skipped)."""
    if CAN_MOUNT:
        subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], check=True)
            yield
        finally:
            subprocess.run(["umount", "-l", str(path)], check=True)
    elif os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")] if p.is_dir() and not p.is_symlink()}
        for p in modes:
            p.chmod(0o555)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
    else:
        pytest.skip("root without mount(8): cannot make a folder read-only for root")


def test_read_only_index_is_not_called_damaged_and_nothing_is_deleted(site, tmp_path):
    files = sorted(p.relative_to(site.data) for p in site.data.rglob("*"))
    with read_only(site.data):
        for args in (("ingest",), ("ingest", "--rebuild")):
            line = one_line_error(site.run(*args), 2, "read-only")
            assert "--rebuild" not in line and "damaged" not in line
        assert ANSWER in site.ask()  # BM25 readers need no write access
    assert sorted(p.relative_to(site.data) for p in site.data.rglob("*")) == files
    site.assert_consistent()
    # with dense retrieval a reader opens Chroma, which cannot open a read-only folder
    dense = Site(tmp_path / "dense", embedding={"model": "fake-hash-64"})
    dense.ingest_here()
    with read_only(dense.data):
        line = one_line_error(dense.run("ask", QUESTION), 2, "read-only")
        assert "--rebuild" not in line


def test_read_only_chroma_folder_with_rebuild_deletes_nothing(site):
    with read_only(site.data / "chroma"):
        line = one_line_error(site.run("ingest", "--rebuild"), 2, "read-only")
        assert "damaged" not in line
    assert not list(site.data.glob("chroma.damaged-*"))
    site.assert_consistent()


@pytest.fixture
def small_disk(tmp_path):
    """small_disk(size) mounts a tmpfs of that size ("3m") and returns its folder."""
    if not CAN_MOUNT:
        pytest.skip("a full disk needs root to mount a small tmpfs")
    mounted = []

    def mount(size: str) -> Path:
        disk = tmp_path / f"disk{len(mounted)}"
        disk.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], check=True)
        mounted.append(disk)
        return disk

    yield mount
    for disk in mounted:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def test_full_disk_during_ingest_is_one_line_and_the_next_run_finishes(tmp_path, small_disk):
    """Items 4 and 8: the disk fills while new articles are written: one line, exit 2, the
    old index keeps answering; with space again, the next `rag ingest` finishes the work."""
    disk = small_disk("3m")
    site = Site(tmp_path, data_dir=str(disk / "data"))
    site.data = disk / "data"
    site.ingest_here()
    write_corpus(site.corpus / "more", 300, seed=11)
    r = site.run("ingest")
    one_line_error(r, 2, "no space left")
    assert ANSWER in site.ask() and len(site.lexical()) == 29
    subprocess.run(["mount", "-o", "remount,size=256m", str(disk)], check=True)
    again = site.run("ingest")
    assert again.returncode == 0, again.stderr
    assert len({c.article_id for c in site.lexical().chunks}) == 304
    site.assert_consistent()


def test_full_disk_during_backup_and_read_only_backup_folder(site, tmp_path, small_disk):
    disk = small_disk("200k")  # less than the index
    one_line_error(site.run("backup", str(disk / "bk")), 2, "no space left")
    assert not (disk / "bk").exists()  # the partial copy is removed
    target = tmp_path / "ro"
    target.mkdir()
    with read_only(target):
        one_line_error(site.run("backup", str(target / "bk")), 2, "read-only")


# -- 3. restore checks the backup before touching the index ----------------------------------

def test_restore_refuses_a_damaged_backup_and_keeps_the_index(site, tmp_path):
    bk = tmp_path / "bk"
    r = site.run("backup", str(bk))
    assert r.returncode == 0, r.stderr
    manifest = json.loads((bk / "manifest.json").read_text())
    assert manifest["files"]["chroma/chroma.sqlite3"]["sha256"]
    db = bk / "chroma" / "chroma.sqlite3"
    good = db.read_bytes()
    db.write_bytes(good[: len(good) // 2])  # truncated
    one_line_error(site.run("restore", str(bk)), 2, "damaged", "chroma/chroma.sqlite3")
    assert ANSWER in site.ask()
    # the same damage with a manifest rewritten to match: SQLite's own check catches it
    forged = dict(manifest, files={**manifest["files"], "chroma/chroma.sqlite3": {
        "size": len(good) // 2, "sha256": __import__("hashlib").sha256(good[: len(good) // 2]).hexdigest()}})
    (bk / "manifest.json").write_text(json.dumps(forged))
    one_line_error(site.run("restore", str(bk)), 2, "damaged")
    # a backup whose counts do not add up is refused too
    db.write_bytes(good)
    (bk / "manifest.json").write_text(json.dumps(dict(manifest, chunks=999)))
    one_line_error(site.run("restore", str(bk)), 2, "manifest")
    site.assert_consistent()
    # the intact backup restores, and the restored index answers the same
    (bk / "manifest.json").write_text(json.dumps(manifest))
    shutil.rmtree(site.data / "chroma")
    r = site.run("restore", str(bk))
    assert r.returncode == 0, r.stderr
    assert ANSWER in site.ask()
    assert not list(site.data.glob(".restore-*")) and not list(site.data.glob(".before-restore-*"))
    site.assert_consistent()


@pytest.mark.parametrize("step, finished", [
    ("restore-staged", False),  # copied and checked, nothing live touched: rolled back
    ("restore-between-renames", True),  # old Chroma moved aside, new one not yet in: finished
    ("restore-chroma-swapped", True),  # Chroma swapped, lexical index not yet: finished
])
def test_kill_9_during_restore_is_finished_or_rolled_back_by_the_next_start(dense_site, tmp_path, step, finished):
    """Item 1 (round 3): restore frozen at each point of its swap, then killed with SIGKILL
    there. The next start (a plain `rag ask`) finishes the restore or rolls it back, says so,
    answers, and leaves no staging folder, aside folder or journal behind."""
    site = dense_site
    bk = tmp_path / "bk"
    assert site.run("backup", str(bk)).returncode == 0
    article = site.corpus / DONATION  # the live index learns a fact the backup does not hold
    article.write_text(article.read_text() + NEW_FACT)
    assert site.run("ingest").returncode == 0
    proc = site.popen("restore", str(bk), env={"RAG_INGEST_STOP_AT": step})
    try:
        wait_stopped(proc)
        if step == "restore-between-renames":  # the window of the report: no live Chroma folder
            assert not (site.data / "chroma").exists()
            assert list(site.data.glob(".before-restore-*/chroma"))
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert list(site.data.glob(".restore-*")), "the kill left the restore's staging folder"
    r = site.run("ask", NEW_QUESTION)
    assert r.returncode == 0, r.stderr
    assert (NEW_ANSWER in r.stdout) is not finished, r.stdout  # old index or the backup's
    assert ("finished a restore" in r.stderr) is finished and "note:" in r.stderr, r.stderr
    leftovers = [*site.data.glob(".restore-*"), *site.data.glob(".before-restore-*"),
                 site.data / "restore.journal"]
    assert not [p for p in leftovers if p.exists()]
    assert {c.id for c in site.lexical().chunks} == site.store_ids()
    assert site.generations() == [site.lexical().meta["collection"]]


def test_deeply_nested_json_in_a_backup_or_the_index_is_one_line(site, tmp_path):
    """Round 3: JSON nested 200,000 deep (Python's parser raises RecursionError) in a backup's
    manifest or the index's own files is one line, never a traceback."""
    bk = tmp_path / "bk"
    assert site.run("backup", str(bk)).returncode == 0
    (bk / "manifest.json").write_text("[" * 200_000 + "]" * 200_000)
    one_line_error(site.run("restore", str(bk)), 2, "manifest.json")
    assert ANSWER in site.ask()
    meta = site.data / "lexical" / "meta.json"
    meta.write_text('{"format": ' + "[" * 200_000 + "]" * 200_000 + "}")
    one_line_error(site.run("ask", QUESTION), 2, "damaged")


def test_sqlite_lock_is_not_reported_as_damage(site):
    """A Chroma database locked by another process is waited for, not rebuilt."""
    conn = sqlite3.connect(site.data / "chroma" / "chroma.sqlite3", isolation_level=None, timeout=1)
    conn.execute("BEGIN EXCLUSIVE")
    proc = site.popen("ingest", "--rebuild")
    time.sleep(3)
    conn.execute("ROLLBACK")
    conn.close()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    site.assert_consistent()


# -- 13. a renamed folder keeps its vectors ----------------------------------------------------

def test_renamed_folder_keeps_its_vectors(site):
    write_corpus(site.corpus / "batch", 30, seed=7)
    first = site.run("ingest")
    assert first.returncode == 0 and "30 added" in first.stdout, first.stderr
    (site.corpus / "batch").rename(site.corpus / "renamed")
    r = site.run("ingest")
    assert r.returncode == 0, r.stderr
    assert "0 added" in r.stdout and "0 removed" in r.stdout and "30 moved" in r.stdout, r.stdout
    assert "0 embedded this run" in r.stdout and "moved batch/" in r.stdout
    assert not any(c.article_id.startswith("batch/") for c in site.lexical().chunks)
    site.assert_consistent()


# -- 10. an installed wheel: package data, a data dir the user owns --------------------------------

@pytest.mark.slow
def test_installed_wheel_answers_from_a_read_only_install(tmp_path):
    src = tmp_path / "src"  # build from a copy: building writes build/ and *.egg-info
    for name in ("rag", "vectorstore", "ui", "evals"):
        shutil.copytree(PROJECT_ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(src)],
                   check=True, capture_output=True, timeout=300)
    target = tmp_path / "site"
    wheel = next((tmp_path / "dist").glob("news_rag-*.whl"))
    subprocess.run(pip + ["install", "--no-deps", "--target", str(target), str(wheel)], check=True,
                   capture_output=True, timeout=300)
    assert len(list((target / "rag" / "shipped_corpus").glob("*.txt"))) == 4
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    from rag.config import models_dir

    # the converted models are a cache shared by config (RAG_MODELS_DIR): the checkout's, built
    # by `make install`, so this test does not convert e5 and assemble the reader again
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": str(target),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
           "RAG_MODELS_DIR": str(models_dir())}
    script = ("import json, rag; from rag import answer; r = answer('卢旺达ICT与创新部长是谁？'); "
              "print(json.dumps({'file': rag.__file__, 'text': r.text}))")
    with read_only(target):
        r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                           cwd=elsewhere, timeout=300)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout.strip().splitlines()[-1])
        assert out["file"].startswith(str(target)) and ANSWER in out["text"]
        assert (home / ".local" / "share" / "news-rag" / "lexical" / "meta.json").exists()
        # a data dir nobody can write is one clear error, not a raw OSError
        locked = tmp_path / "locked"
        locked.mkdir()
        with read_only(locked):
            script = ("from rag import answer\ntry:\n    answer('问题')\nexcept Exception as e:\n"
                      "    print(type(e).__name__, e)")
            r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               env={**env, "RAG_DATA_DIR": str(locked / "data")}, cwd=elsewhere, timeout=300)
        assert r.stdout.startswith("ReadOnlyStorageError") and "read-only" in r.stdout, (r.stdout, r.stderr)
