"""Where the copy's bytes go: to a blob the model store holds already, or to a new one.

A file's SHA-256 is known only once it has been read, and reading twice is what the single pass
exists to avoid. So the sink decides as it reads, one segment (`SEGMENT_BYTES`) at a time, from the
prefix digests every blob's record carries (storage/blob_ledger):
- *head*: the first segment is held in memory until its digest is known; then the store is asked
  for committed blobs of the same size and head (claimed for this attempt at once);
- *matching*: while some candidate has the same digest at every segment boundary, nothing is
  written and the segment is dropped once it matches; at the end the whole SHA-256 must equal the
  candidate's, and the file becomes that blob;
- *writing*: no candidate, or none matched a segment. The bytes before that segment are equal to
  the candidate's (their digests matched), so they are copied from the candidate's blob in the
  store (and checked against its prefix digest), then the held segment, then the rest as it comes.

The source is read once in every case. What it costs: up to one segment held in memory per file;
for a new file whose first segment matches an existing blob but later differs, a read of that
matching part from the model store.
"""

from __future__ import annotations

import hashlib

from modelport.storage.blob_ledger import HEAD_HEX, SEGMENT_BYTES, BlobRecord
from modelport.storage.interface import ObjectWriter, StagedModel, StorageError


class BlobSink:
    def __init__(self, staged: StagedModel, name: str, size: int, *, chunk_bytes: int) -> None:
        self._staged = staged
        self._name = name
        self._size = size
        self._chunk_bytes = chunk_bytes
        self._digest = hashlib.sha256()
        self._offset = 0
        self._prefixes: list[str] = []
        self._held: list[memoryview] = []  # the bytes from _held_from on, not decided yet
        self._held_from = 0
        self._candidates: list[BlobRecord] = []
        self._state = "head"
        self._key: str | None = None
        self._writer: ObjectWriter | None = None
        self.bytes_written = 0

    def feed(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            room = SEGMENT_BYTES - self._offset % SEGMENT_BYTES
            piece, view = view[:room], view[room:]
            self._digest.update(piece)
            self._offset += len(piece)
            if self._writer is not None:
                self._write(piece)
            else:
                self._held.append(piece)
            if self._offset % SEGMENT_BYTES == 0 or self._offset == self._size:
                self._boundary()

    def finish(self) -> BlobRecord:
        """Commit (or adopt) the blob and make it the model's file; call after every byte was fed."""
        if not self._prefixes:
            self._boundary()  # an empty file has its one boundary at offset 0
        if self._state == "matching":
            record = self._candidates[0]
        else:
            assert self._writer is not None and self._key is not None
            self._writer.commit()
            self._writer = None
            written = BlobRecord(self._key, self._digest.hexdigest(), self._size, tuple(self._prefixes))
            record = self._staged.commit_blob(written)
        self._staged.place(self._name, record)
        return record

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def _boundary(self) -> None:
        index = len(self._prefixes)
        at_end = self._offset == self._size
        digest = self._digest.copy().hexdigest()
        self._prefixes.append(digest[:HEAD_HEX])
        if self._state == "head":
            self._candidates = self._staged.candidates(self._size, digest[:HEAD_HEX])
            self._state = "matching"
        if self._state != "matching":
            return
        # At the end the whole SHA-256 decides, not its first 128 bits.
        survivors = [
            c for c in self._candidates if (c.sha256 == digest if at_end else c.prefixes[index] == digest[:HEAD_HEX])
        ]
        if survivors:
            self._candidates = survivors
            self._held.clear()
            self._held_from = self._offset
        else:
            self._start_writing(self._candidates[0] if self._candidates else None)

    def _start_writing(self, equal_until_held: BlobRecord | None) -> None:
        self._key, self._writer = self._staged.new_blob(self._size, self._prefixes[0])
        self._state = "writing"
        if self._held_from:
            assert equal_until_held is not None
            self._copy_from(equal_until_held, self._held_from)
        for piece in self._held:
            self._write(piece)
        self._held.clear()

    def _copy_from(self, source: BlobRecord, length: int) -> None:
        """Bytes [0, length) from `source`'s blob, which the source file was shown to equal."""
        expected = source.prefixes[length // SEGMENT_BYTES - 1]
        check = hashlib.sha256()
        reader = self._staged.open_blob(source.key)
        try:
            offset = 0
            while offset < length:
                data = reader.read(offset, min(self._chunk_bytes, length - offset))
                if not data:
                    raise StorageError(f"blob {source.key} of the model store is shorter than its record says.")
                check.update(data)
                self._write(data)
                offset += len(data)
        finally:
            reader.close()
        if check.hexdigest()[:HEAD_HEX] != expected:
            raise StorageError(f"blob {source.key} of the model store does not hold the bytes its record names.")

    def _write(self, data: bytes | memoryview) -> None:
        assert self._writer is not None
        self._writer.write(data)
        self.bytes_written += len(data)
