"""The blob ledger: one copy of each distinct file in a model store, shared by every model that holds
it, with references that say who holds what, on any store that is an `ObjectSpace`.

Layout, below the store's root (a blob's key is `<size>/<head>/<id>`):
  .blobs/<size>/<head>/<id>               the bytes of one file; `head` is the SHA-256 (128 bits) of
                                          its first SEGMENT_BYTES, `id` is random and never reused
  .blobs/<size>/<head>/<id>.json          its record, written once the bytes are durable: the blob is
                                          *committed*; SHA-256, size and the prefix digests
  .blobs/<size>/<head>/<id>.doomed.<t>    a collector is deciding whether to remove it
  .refs/<key>/<model>.<token>             attempt <token> of <model> holds the blob
  .claims/<model>.<token>                 every blob that attempt ever referenced (JSON)

A blob is found by its size and head, so a candidate for a file is known after its first segment
is read, and confirmed with the record's prefix digests as the rest is read (pipeline/blob_sink).
Keys are random rather than the SHA-256 because the digest is only known once a file has been
read, and an object store cannot rename; a key that is never reused also means a collector that
was slow to act can never remove a newer copy.

References. An attempt writes its claims object first, then its reference, then uses the blob (a
new blob: then writes its bytes). A published manifest names the blob keys of its files, and its
attempt's references stay. So every reference is named by its model's manifest or by a claims
object, and the sweep of a model that no attempt runs (`sweep`) drops every reference of that
model that its manifest does not name. Deleting a model first records its manifest's blobs as
claims (`.claims/<model>.deleting`), then removes the manifest, then sweeps.

Collection. A blob whose last reference goes is removed by whoever dropped that reference (`gc`).
`gc` and a claim race like Dekker's two flags: the collector writes its doomed marker, then lists
the references; a claimer writes its reference, then looks for doomed markers and the record. One
of them always sees the other, on any linearizable store: the claimer backs off, or the collector
spares the blob. `collect` is the reaper's backstop for crashes between two steps: references of
models no job runs or publishes, blobs nothing references, markers of dead collectors.

One window is left, and it needs no crash: an attempt that lost its lease, paused for longer than
the lease between its last lease check and writing its manifest while another attempt of the job
finished and swept, can publish a manifest naming a blob the sweep removed. On S3 the publish
checks every blob just before the manifest, which narrows that to the time between two requests;
locally the model's hard links keep the bytes whatever happens to the blob's name.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from modelport.storage.interface import StorageError
from modelport.storage.object_space import ObjectSpace

MIB = 1024 * 1024
SEGMENT_BYTES = 8 * MIB  # prefix digests are taken every SEGMENT_BYTES; a speculating copy holds one
HEAD_HEX = 32
MAX_CANDIDATES = 16  # blobs of one size and head compared at once (fine-tunes that share a first segment)
STALE_MARKER_SECONDS = 3600.0  # a doomed marker older than this was left by a collector that died
RECORD_FORMAT = "modelport.blob/v1"
DELETING = "deleting"  # the claims token of a model being deleted

BLOBS = ".blobs/"
REFS = ".refs/"
CLAIMS = ".claims/"
_KEY = re.compile(r"^(0|[1-9][0-9]{0,19})/([0-9a-f]{32})/([0-9a-f]{32})$")
_ENTRY = re.compile(r"^([0-9a-f]{32})(?:(\.json)|\.doomed\.([0-9]{1,20})-[0-9a-f]{8})?$")

ManifestKeys = Callable[[str], frozenset[str] | None]  # a model's blob keys, None when not published


@dataclass(frozen=True)
class BlobRecord:
    key: str
    sha256: str
    size: int
    prefixes: tuple[str, ...]  # SHA-256 (128 bits) of the first (k+1) x SEGMENT_BYTES, the last of it all

    @property
    def head(self) -> str:
        return self.prefixes[0]

    def to_bytes(self) -> bytes:
        body = {"format": RECORD_FORMAT, "sha256": self.sha256, "size": self.size, "prefixes": "".join(self.prefixes)}
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, key: str, raw: bytes) -> BlobRecord | None:
        """The record, or None when it is not one this ledger wrote for `key` (never trusted blindly)."""
        size, head, _ = parse_blob_key(key)
        try:
            body = json.loads(raw)
            joined, sha256 = body["prefixes"], body["sha256"]
            valid = body["format"] == RECORD_FORMAT and body["size"] == size and isinstance(joined, str)
        except (ValueError, KeyError, TypeError):
            return None
        if not valid or not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", sha256):
            return None
        prefixes = tuple(joined[i : i + HEAD_HEX] for i in range(0, len(joined), HEAD_HEX))
        if len(prefixes) != prefix_count(size) or prefixes[0] != head or prefixes[-1] != sha256[:HEAD_HEX]:
            return None
        return cls(key=key, sha256=sha256, size=size, prefixes=prefixes)


def prefix_count(size: int) -> int:
    return max(1, -(-size // SEGMENT_BYTES))


def parse_blob_key(key: str) -> tuple[int, str, str]:
    """(size, head, id) of a blob key; StorageError for anything else (keys come from manifests)."""
    match = _KEY.match(key)
    if match is None:
        raise StorageError(f"{key!r} is not a blob key of this model store.")
    return int(match.group(1)), match.group(2), match.group(3)


def new_blob_key(size: int, head: str) -> str:
    key = f"{size}/{head}/{uuid.uuid4().hex}"
    parse_blob_key(key)
    return key


def data_key(key: str) -> str:
    parse_blob_key(key)
    return f"{BLOBS}{key}"


def _record_key(key: str) -> str:
    return f"{BLOBS}{key}.json"


def _refs_prefix(key: str) -> str:
    return f"{REFS}{key}/"


def _claims_key(model: str, token: str) -> str:
    return f"{CLAIMS}{model}.{token}"


def _holder_model(holder: str) -> str:
    return holder.rsplit(".", 1)[0] if "." in holder else ""


@dataclass
class _Folder:
    """What one `.blobs/<size>/<head>/` listing says about each id in it."""

    data: set[str] = field(default_factory=set)
    records: set[str] = field(default_factory=set)
    markers: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))

    def usable(self, ident: str) -> bool:
        return ident in self.records and ident in self.data and not self.markers.get(ident)


class BlobLedger:
    def __init__(self, space: ObjectSpace, manifest_keys: ManifestKeys) -> None:
        self._space = space
        self._manifest_keys = manifest_keys

    @property
    def space(self) -> ObjectSpace:
        return self._space

    # -- finding blobs ------------------------------------------------------------------------------

    def candidates(self, size: int, head: str) -> list[BlobRecord]:
        """Committed blobs of this size and head that no collector is removing, oldest listing first."""
        folder = self._folder(size, head)
        found = []
        for ident in sorted(folder.records):
            if folder.usable(ident):
                key = f"{size}/{head}/{ident}"
                raw = self._space.get(_record_key(key))
                record = BlobRecord.from_bytes(key, raw) if raw is not None else None
                if record is not None:
                    found.append(record)
        return found[:MAX_CANDIDATES]

    def usable(self, keys: Iterable[str]) -> set[str]:
        """Which of `keys` are committed with no doomed marker: call after writing the references."""
        by_folder: dict[tuple[int, str], list[str]] = defaultdict(list)
        for key in keys:
            size, head, ident = parse_blob_key(key)
            by_folder[(size, head)].append(ident)
        usable = set()
        for (size, head), idents in by_folder.items():
            folder = self._folder(size, head)
            usable |= {f"{size}/{head}/{ident}" for ident in idents if folder.usable(ident)}
        return usable

    def twin(self, record: BlobRecord) -> BlobRecord | None:
        """The committed blob with the same SHA-256 and the smallest id, if it is not `record`: two
        imports that committed the same new file at once keep one copy when either sees the other."""
        _, _, mine = parse_blob_key(record.key)
        for other in self.candidates(record.size, record.head):
            if other.sha256 == record.sha256:
                return None if parse_blob_key(other.key)[2] >= mine else other
        return None

    def commit(self, record: BlobRecord) -> None:
        self._space.put(_record_key(record.key), record.to_bytes())

    # -- references ---------------------------------------------------------------------------------

    def write_claims(self, model: str, token: str, keys: frozenset[str]) -> None:
        body = {"model_name": model, "token": token, "blobs": sorted(keys)}
        self._space.put(_claims_key(model, token), json.dumps(body).encode())

    def add_refs(self, model: str, token: str, keys: Iterable[str]) -> None:
        for key in keys:
            self._space.put(f"{_refs_prefix(key)}{model}.{token}", b"")

    def settle(self, model: str, token: str, claimed: frozenset[str], keep: frozenset[str]) -> None:
        """End one attempt: drop its own references to the blobs `keep` does not name, then its claims."""
        for key in sorted(claimed - keep):
            self._space.delete(f"{_refs_prefix(key)}{model}.{token}")
            self.gc(key)
        self._space.delete(_claims_key(model, token))

    def claimed_models(self) -> set[str]:
        return {_holder_model(key[len(CLAIMS) :]) for key in self._space.keys(CLAIMS)} - {""}

    def sweep(self, model: str) -> int:
        """Settle every attempt of `model` (none runs): keep what its manifest names, drop the rest."""
        tokens = {}
        for claims in self._space.keys(CLAIMS):
            name = claims[len(CLAIMS) :]
            if _holder_model(name) == model:
                raw = self._space.get(claims)
                tokens[claims] = _claimed_keys(raw) if raw is not None else frozenset()
        if not tokens:
            return 0
        keep = self._manifest_keys(model) or frozenset()
        for claims, keys in tokens.items():
            for key in sorted(keys - keep):
                self._drop_refs(model, key)
                self.gc(key)
            self._space.delete(claims)
        return len(tokens)

    def holders(self, key: str) -> set[str]:
        """The models that hold a reference to `key`."""
        parse_blob_key(key)
        return {_holder_model(ref.rsplit("/", 1)[1]) for ref in self._space.keys(_refs_prefix(key))} - {""}

    def holders_of_all(self, keys: Iterable[str]) -> set[str]:
        holders: set[str] | None = None
        for key in keys:
            holders = self.holders(key) if holders is None else holders & self.holders(key)
            if not holders:
                return set()
        return holders or set()

    # -- collection ---------------------------------------------------------------------------------

    def gc(self, key: str) -> bool:
        """Remove the blob if nothing references it; True if it is gone."""
        size, head, ident = parse_blob_key(key)
        marker = f"{BLOBS}{key}.doomed.{time.time_ns() // 1_000_000}-{uuid.uuid4().hex[:8]}"
        self._space.put(marker, b"")
        if self._space.keys(_refs_prefix(key)):
            self._space.delete(marker)
            return False
        # Record first: from here no claimer can find the blob usable, whatever markers remain.
        self._space.delete(_record_key(key))
        self._space.delete(data_key(key))
        for stamp, _ in self._folder(size, head).markers.get(ident, []):
            self._space.delete(f"{BLOBS}{key}.doomed.{stamp}")
        return True

    def collect(self, live_models: Callable[[Sequence[str]], set[str]]) -> int:
        """The reaper's pass; `live_models` says which models have a job that is RUNNING or SUCCEEDED.
        Returns how many blobs were removed."""
        refs: dict[str, list[tuple[str, str]]] = defaultdict(list)  # model -> (blob key, ref key)
        for ref in self._space.keys(REFS):
            key, _, holder = ref[len(REFS) :].rpartition("/")
            refs[_holder_model(holder)].append((key, ref))
        live = live_models(sorted(refs))
        referenced = set()
        for model, held in refs.items():
            keep = None if model in live else (self._manifest_keys(model) or frozenset()) if model else frozenset()
            for key, ref in held:
                if keep is None or key in keep:
                    referenced.add(key)
                else:
                    self._space.delete(ref)
        removed = 0
        now_ms = time.time_ns() // 1_000_000
        for size, head, folder in self._folders():
            for ident in sorted(folder.data | folder.records | set(folder.markers)):
                key = f"{size}/{head}/{ident}"
                markers = folder.markers.get(ident, [])
                # Unreferenced when the references were listed: gc looks again before removing it.
                if key not in referenced and self.gc(key):
                    removed += 1
                    continue
                for stamp, made_ms in markers:
                    if now_ms - made_ms > STALE_MARKER_SECONDS * 1000:
                        self._space.delete(f"{BLOBS}{key}.doomed.{stamp}")
        return removed

    # -- small steps --------------------------------------------------------------------------------

    def _drop_refs(self, model: str, key: str) -> None:
        for ref in self._space.keys(_refs_prefix(key)):
            if _holder_model(ref.rsplit("/", 1)[1]) == model:
                self._space.delete(ref)

    def _folder(self, size: int, head: str) -> _Folder:
        prefix = f"{BLOBS}{size}/{head}/"
        folder = _Folder()
        for key in self._space.keys(prefix):
            _add_entry(folder, key[len(prefix) :])
        return folder

    def _folders(self) -> list[tuple[int, str, _Folder]]:
        folders: dict[tuple[int, str], _Folder] = defaultdict(_Folder)
        for key in self._space.keys(BLOBS):
            parts = key[len(BLOBS) :].split("/")
            if len(parts) == 3 and _KEY.match(f"{parts[0]}/{parts[1]}/{'0' * 32}"):
                _add_entry(folders[(int(parts[0]), parts[1])], parts[2])
        return [(size, head, folder) for (size, head), folder in sorted(folders.items())]


def _add_entry(folder: _Folder, name: str) -> None:
    match = _ENTRY.match(name)
    if match is None:
        return
    ident, record, made_ms = match.groups()
    if record:
        folder.records.add(ident)
    elif made_ms is not None:
        folder.markers[ident].append((name.split(".doomed.", 1)[1], int(made_ms)))
    else:
        folder.data.add(ident)


def _claimed_keys(raw: bytes) -> frozenset[str]:
    try:
        keys = json.loads(raw)["blobs"]
    except (ValueError, KeyError, TypeError):
        return frozenset()
    valid = set()
    for key in keys if isinstance(keys, list) else []:
        if isinstance(key, str) and _KEY.match(key):
            valid.add(key)
    return frozenset(valid)


class BlobAttempt:
    """One import attempt's side of the ledger: it claims before it relies on a blob, and at its end
    drops exactly its own references to what it did not publish. Safe to use from the copy threads."""

    def __init__(self, ledger: BlobLedger, model: str, token: str) -> None:
        if "." in token or "/" in token or not token:
            raise StorageError(f"Staging token {token!r} must be non-empty, without '.' or '/'.")
        self.ledger = ledger
        self._model = model
        self._token = token
        self._claimed: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, keys: Sequence[str]) -> None:
        with self._lock:
            new = set(keys) - self._claimed
            if new:
                self._claimed |= new
                self.ledger.write_claims(self._model, self._token, frozenset(self._claimed))
        self.ledger.add_refs(self._model, self._token, keys)

    def candidates(self, size: int, head: str) -> list[BlobRecord]:
        found = self.ledger.candidates(size, head)
        if not found:
            return []
        self.claim([record.key for record in found])
        usable = self.ledger.usable(record.key for record in found)
        return [record for record in found if record.key in usable]

    def new_key(self, size: int, head: str) -> str:
        key = new_blob_key(size, head)
        self.claim([key])
        return key

    def commit(self, record: BlobRecord) -> BlobRecord:
        """Commit a blob this attempt wrote; returns the blob to use (it, or an older twin)."""
        self.ledger.commit(record)
        twin = self.ledger.twin(record)
        if twin is not None:
            self.claim([twin.key])
            if twin.key in self.ledger.usable([twin.key]):
                return twin
        return record

    def settle(self, keep: frozenset[str]) -> None:
        with self._lock:
            claimed = frozenset(self._claimed)
        self.ledger.settle(self._model, self._token, claimed, keep)

    def inherit(self, keys: frozenset[str]) -> None:
        """Record an earlier publication's blobs before it is replaced, so the sweep finds them."""
        if keys:
            self.ledger.write_claims(self._model, f"{self._token}-previous", keys)
