"""Storing closing transcripts: nothing escapes the store, nothing is half-written or overwritten."""
# ruff: noqa: N803 - the fake S3 client takes boto3's argument names (Bucket, Key, Body…)

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters.file_storage import (
    FileStorage,
    InMemoryFileStorage,
    LocalFileStorage,
    S3FileStorage,
    StorageConflictError,
    StorageKeyError,
    StorageLocationError,
)

PDF = b"%PDF-1.4 transcript of chat 42"
KEY = "transcripts/2026/11/chat-42.pdf"
TRAVERSALS = ["../outside.pdf", "transcripts/../../outside.pdf", "/etc/passwd", "transcripts//x.pdf",
              "transcripts/./x.pdf", ".hidden.pdf", "transcripts\\..\\x.pdf", "", "x\x00.pdf", "a/b/"]


class FakeClientError(Exception):
    """Shaped like botocore's ClientError: the S3 error code is in `.response`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


@dataclass
class FakeS3Client:
    """The three calls S3FileStorage makes, answering like S3 (and MinIO) do."""

    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    puts: int = 0

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str,
                   Metadata: dict[str, str]) -> dict[str, Any]:
        self.puts += 1
        self.objects[(Bucket, Key)] = {"Body": Body, "ContentType": ContentType, "Metadata": Metadata}
        return {"ETag": f'"{hashlib.md5(Body).hexdigest()}"'}  # noqa: S324 - S3's ETag is an MD5

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        stored = self._find(Bucket, Key, missing_code="NoSuchKey")
        return {"Body": io.BytesIO(stored["Body"]), "ContentType": stored["ContentType"]}

    def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        stored = self._find(Bucket, Key, missing_code="404")
        return {"ContentLength": len(stored["Body"]), "Metadata": stored["Metadata"]}

    def _find(self, bucket: str, key: str, *, missing_code: str) -> dict[str, Any]:
        if (bucket, key) not in self.objects:
            raise FakeClientError(missing_code)
        return self.objects[(bucket, key)]


@pytest.fixture(params=["local", "s3", "memory"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> FileStorage:
    if request.param == "local":
        return LocalFileStorage(tmp_path / "files")
    if request.param == "s3":
        return S3FileStorage("despacho-transcripts", client=FakeS3Client(), prefix="prod")
    return InMemoryFileStorage()


def test_stored_file_reads_back_with_its_hash_and_size(storage: FileStorage) -> None:
    stored = storage.put(KEY, PDF, "application/pdf")

    assert storage.get(stored.location) == PDF
    assert storage.exists(stored.location)
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest()
    assert stored.size == len(PDF)


def test_putting_the_same_file_again_is_harmless(storage: FileStorage) -> None:
    first = storage.put(KEY, PDF, "application/pdf")
    again = storage.put(KEY, PDF, "application/pdf")

    assert again == first
    assert storage.get(first.location) == PDF


def test_refuses_to_overwrite_a_stored_file_with_other_content(storage: FileStorage) -> None:
    stored = storage.put(KEY, PDF, "application/pdf")

    with pytest.raises(StorageConflictError):
        storage.put(KEY, PDF + b" tampered", "application/pdf")
    assert storage.get(stored.location) == PDF


@pytest.mark.parametrize("key", TRAVERSALS)
def test_rejects_keys_that_could_leave_the_store(storage: FileStorage, key: str) -> None:
    with pytest.raises(StorageKeyError):
        storage.put(key, PDF, "application/pdf")


def test_a_missing_file_is_reported_as_missing(storage: FileStorage) -> None:
    stored = storage.put(KEY, PDF, "application/pdf")
    missing = stored.location.replace("chat-42", "chat-43")

    assert not storage.exists(missing)
    with pytest.raises(FileNotFoundError):
        storage.get(missing)


def test_local_store_writes_inside_its_root_only(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path / "files")

    stored = storage.put(KEY, PDF, "application/pdf")

    assert stored.location == "local://" + KEY
    assert (tmp_path / "files" / KEY).read_bytes() == PDF
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["chat-42.pdf"]


def test_local_store_refuses_locations_that_escape_it(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("no")
    storage = LocalFileStorage(tmp_path / "files")

    outside = ("local://../secret.txt", "local:///etc/passwd", "file:///etc/passwd", str(tmp_path / "secret.txt"))
    for location in outside:
        with pytest.raises((StorageKeyError, StorageLocationError)):
            storage.get(location)


def test_local_store_does_not_follow_a_symlink_out_of_the_store(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "transcripts").symlink_to(outside)
    storage = LocalFileStorage(tmp_path / "files")

    with pytest.raises(StorageKeyError):
        storage.put(KEY, PDF, "application/pdf")
    assert list(outside.iterdir()) == []


def test_local_store_leaves_no_partial_file_when_a_write_fails(tmp_path: Path) -> None:
    class FailingLocalStorage(LocalFileStorage):
        @staticmethod
        def _publish(temporary: Path, target: Path) -> None:
            raise OSError("disk full")

    storage = FailingLocalStorage(tmp_path / "files")

    with pytest.raises(OSError, match="disk full"):
        storage.put(KEY, PDF, "application/pdf")
    assert not storage.exists("local://" + KEY)
    assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == []


def test_local_store_never_shows_a_half_written_file_to_a_reader(tmp_path: Path) -> None:
    seen_while_writing: list[bool] = []

    class ObservedLocalStorage(LocalFileStorage):
        @staticmethod
        def _write_temporary(directory: Path, content: bytes) -> Path:
            temporary = LocalFileStorage._write_temporary(directory, content)
            seen_while_writing.append((directory / "chat-42.pdf").exists())
            return temporary

    storage = ObservedLocalStorage(tmp_path / "files")
    storage.put(KEY, PDF, "application/pdf")

    assert seen_while_writing == [False]
    assert storage.get("local://" + KEY) == PDF


def test_local_store_keeps_the_first_file_when_another_worker_raced_with_other_bytes(tmp_path: Path) -> None:
    class RacedLocalStorage(LocalFileStorage):
        @staticmethod
        def _write_temporary(directory: Path, content: bytes) -> Path:
            (directory / "chat-42.pdf").write_bytes(b"written by another worker")
            return LocalFileStorage._write_temporary(directory, content)

    storage = RacedLocalStorage(tmp_path / "files")

    with pytest.raises(StorageConflictError):
        storage.put(KEY, PDF, "application/pdf")
    assert (tmp_path / "files" / KEY).read_bytes() == b"written by another worker"
    assert sorted(os.listdir(tmp_path / "files" / "transcripts" / "2026" / "11")) == ["chat-42.pdf"]


def test_s3_store_records_the_hash_and_writes_once() -> None:
    client = FakeS3Client()
    storage = S3FileStorage("despacho-transcripts", client=client, prefix="prod")

    stored = storage.put(KEY, PDF, "application/pdf")
    storage.put(KEY, PDF, "application/pdf")

    assert stored.location == f"s3://despacho-transcripts/prod/{KEY}"
    saved = client.objects[("despacho-transcripts", f"prod/{KEY}")]
    assert saved["ContentType"] == "application/pdf"
    assert saved["Metadata"] == {"sha256": stored.sha256}
    assert client.puts == 1


def test_s3_store_refuses_locations_of_another_bucket() -> None:
    storage = S3FileStorage("despacho-transcripts", client=FakeS3Client())

    with pytest.raises(StorageLocationError):
        storage.get(f"s3://someone-else/{KEY}")


def test_s3_store_passes_on_errors_that_are_not_a_missing_object() -> None:
    class DeniedClient(FakeS3Client):
        def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
            raise FakeClientError("AccessDenied")

    storage = S3FileStorage("despacho-transcripts", client=DeniedClient())

    with pytest.raises(FakeClientError, match="AccessDenied"):
        storage.put(KEY, PDF, "application/pdf")
