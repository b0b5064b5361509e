"""Where generated files (closing transcripts) are kept: a local folder, or an S3-compatible store.

Every store answers with a location (`local://…`, `s3://bucket/…`, `memory://…`) that the chat's
history records; `get(location)` reads it back. A key names a file once: putting the same key with
the same bytes again is a no-op (a retried job), with other bytes it is refused, so a recorded
sha256 never stops matching its file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

_KEY_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_KEY_LENGTH = 512


@dataclass(frozen=True)
class StoredFile:
    location: str
    sha256: str
    size: int


class FileStorage(Protocol):
    def put(self, key: str, content: bytes, content_type: str) -> StoredFile: ...

    def get(self, location: str) -> bytes: ...

    def exists(self, location: str) -> bool: ...

    def location(self, key: str) -> str:
        """Where `key` is (or would be) kept, without touching the store."""
        ...


class StorageKeyError(ValueError):
    """A key that could name a file outside the store (`../x`, `/etc/x`) or is not a plain path."""


class StorageConflictError(RuntimeError):
    """The key already holds different content; files are never overwritten."""


class StorageLocationError(ValueError):
    """A location that does not belong to this store."""


class StorageConfigurationError(RuntimeError):
    pass


def check_key(key: str) -> str:
    """A relative path of plain segments (`transcripts/2026/11/abc.pdf`); anything else is refused."""
    segments = key.split("/")
    # Each segment starts with a letter or digit: no "..", no hidden names, no absolute paths.
    if not key or len(key) > MAX_KEY_LENGTH or not all(_KEY_SEGMENT.fullmatch(s) for s in segments):
        raise StorageKeyError(f"Invalid storage key: {key!r}")
    return key


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class LocalFileStorage:
    """Files under `root`; writes are atomic (temporary file, fsync, then link into place)."""

    SCHEME = "local://"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def put(self, key: str, content: bytes, content_type: str) -> StoredFile:
        target = self._path(check_key(key))
        stored = StoredFile(location=self.SCHEME + key, sha256=sha256_hex(content), size=len(content))
        if target.exists():
            return self._same_or_conflict(target, stored)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._write_temporary(target.parent, content)
        try:
            self._publish(temporary, target)
        except FileExistsError:
            return self._same_or_conflict(target, stored)  # another worker put it first
        finally:
            temporary.unlink(missing_ok=True)
        _fsync_directory(target.parent)
        return stored

    def get(self, location: str) -> bytes:
        return self._path(self._key(location)).read_bytes()

    def location(self, key: str) -> str:
        return self.SCHEME + check_key(key)

    def exists(self, location: str) -> bool:
        return self._path(self._key(location)).is_file()

    def _key(self, location: str) -> str:
        if not location.startswith(self.SCHEME):
            raise StorageLocationError(f"Not a local storage location: {location!r}")
        return check_key(location.removeprefix(self.SCHEME))

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):  # a symlink inside the store pointing out of it
            raise StorageKeyError(f"Invalid storage key: {key!r}")
        return path

    @staticmethod
    def _write_temporary(directory: Path, content: bytes) -> Path:
        descriptor, name = tempfile.mkstemp(dir=directory, prefix=".incoming-", suffix=".tmp")
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        return Path(name)

    @staticmethod
    def _publish(temporary: Path, target: Path) -> None:
        """Hard-link: appears whole or not at all, and never replaces a file that is already there."""
        try:
            os.link(temporary, target)
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            # Filesystems without hard links: an atomic rename, after checking nobody got there first.
            if target.exists():
                raise FileExistsError(target) from error
            os.replace(temporary, target)

    @staticmethod
    def _same_or_conflict(target: Path, stored: StoredFile) -> StoredFile:
        if sha256_hex(target.read_bytes()) != stored.sha256:
            raise StorageConflictError(f"{stored.location} already holds different content")
        return stored


def _fsync_directory(directory: Path) -> None:
    """Make the new name itself durable, not only the bytes it points to."""
    with contextlib.suppress(OSError):  # not every platform can open a directory
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


class S3FileStorage:
    """An S3-compatible bucket through a boto3-style client (put_object, get_object, head_object)."""

    def __init__(self, bucket: str, *, client: Any, prefix: str = "") -> None:
        self.bucket = bucket
        self._client = client
        self._prefix = check_key(prefix.strip("/")) + "/" if prefix.strip("/") else ""

    def put(self, key: str, content: bytes, content_type: str) -> StoredFile:
        object_key = self._prefix + check_key(key)
        stored = StoredFile(location=f"s3://{self.bucket}/{object_key}", sha256=sha256_hex(content),
                            size=len(content))
        existing = self._head(object_key)
        if existing is not None:
            if existing.get("Metadata", {}).get("sha256") != stored.sha256:
                raise StorageConflictError(f"{stored.location} already holds different content")
            return stored
        self._client.put_object(Bucket=self.bucket, Key=object_key, Body=content, ContentType=content_type,
                                Metadata={"sha256": stored.sha256})
        return stored

    def get(self, location: str) -> bytes:
        object_key = self._object_key(location)
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=object_key)
        except Exception as error:
            if _is_not_found(error):
                raise FileNotFoundError(location) from error
            raise
        body: bytes = response["Body"].read()
        return body

    def exists(self, location: str) -> bool:
        return self._head(self._object_key(location)) is not None

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._prefix}{check_key(key)}"

    def _head(self, object_key: str) -> dict[str, Any] | None:
        try:
            response: dict[str, Any] = self._client.head_object(Bucket=self.bucket, Key=object_key)
        except Exception as error:
            if _is_not_found(error):
                return None
            raise
        return response

    def _object_key(self, location: str) -> str:
        scheme = f"s3://{self.bucket}/"
        if not location.startswith(scheme):
            raise StorageLocationError(f"Not a location in bucket {self.bucket}: {location!r}")
        object_key = check_key(location.removeprefix(scheme))
        if not object_key.startswith(self._prefix):
            raise StorageLocationError(f"Not a location under this store's prefix: {location!r}")
        return object_key


def _is_not_found(error: Exception) -> bool:
    """botocore's ClientError carries the S3 error code in `.response`; matched by shape, not type."""
    response = getattr(error, "response", None)
    code = str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
    return code in ("404", "NoSuchKey", "NotFound")


def make_s3_storage(bucket: str, endpoint_url: str | None = None, *, region_name: str | None = None,
                    access_key_id: str | None = None, secret_access_key: str | None = None,
                    prefix: str = "") -> S3FileStorage:
    """S3, MinIO, Ceph…; needs the optional extra: `pip install 'despacho[s3]'`."""
    try:
        import boto3  # optional: only deployments that store in S3 install it
    except ImportError as error:
        raise StorageConfigurationError("S3 storage needs boto3: pip install 'despacho[s3]'") from error
    client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region_name,
                          aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key)
    return S3FileStorage(bucket, client=client, prefix=prefix)


class InMemoryFileStorage:
    """The fake for tests: same keys, same idempotence and conflicts, nothing on disk."""

    SCHEME = "memory://"

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()

    def put(self, key: str, content: bytes, content_type: str) -> StoredFile:
        location = self.SCHEME + check_key(key)
        stored = StoredFile(location=location, sha256=sha256_hex(content), size=len(content))
        with self._lock:
            existing = self.files.setdefault(location, (content, content_type))
        if existing[0] != content:
            raise StorageConflictError(f"{location} already holds different content")
        return stored

    def get(self, location: str) -> bytes:
        if location not in self.files:
            raise FileNotFoundError(location)
        return self.files[location][0]

    def exists(self, location: str) -> bool:
        return location in self.files

    def location(self, key: str) -> str:
        return self.SCHEME + check_key(key)
