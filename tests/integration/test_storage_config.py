"""MODELPORT_CONFIG: the embedded default, the backends a file maps bucket names to, and the
start-up errors that name the file, the table and the key, never a credential."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from modelport.settings import Settings
from modelport.storage.config import StorageConfigError, build_storage
from modelport.storage.interface import BucketNotFound
from modelport.storage.local_bucket import LocalBucket
from modelport.storage.local_models import LocalModelStore
from modelport.storage.opendal_bucket import OpenDalBucket
from modelport.storage.opendal_models import OpenDalModelStore
from modelport.storage.registry import StorageRegistry

SECRET = "s3cr3t-" + os.urandom(8).hex()
ENVIRON = {
    "MODELS_AWS_KEY": "AKIDMODELS",
    "MODELS_AWS_SECRET": SECRET,
    "OSS_ACCESS_KEY_ID": "LTAIOSS",
    "OSS_ACCESS_KEY_SECRET": SECRET,
}
EXAMPLE = """
[model_store]
url = "s3://models-bucket/modelport/"
endpoint = "http://127.0.0.1:9000"
region = "us-east-1"
access_key_id = { env = "MODELS_AWS_KEY" }
secret_access_key = { env = "MODELS_AWS_SECRET" }
part_size = "32MiB"
part_concurrency = 4

[buckets.my-bucket]
url = "oss://real-oss-bucket-name/tenant-a/"
endpoint = "https://oss-cn-beijing.aliyuncs.com"
access_key_id = { env = "OSS_ACCESS_KEY_ID" }
access_key_secret = { env = "OSS_ACCESS_KEY_SECRET" }

[buckets.aws-bucket]
url = "s3://my.aws.bucket/"
region = "eu-west-1"

[buckets.local-drop]
url = "file://{uploads}"
"""


def settings_for(tmp_path: Path, text: str | None) -> Settings:
    config = None
    if text is not None:
        config = tmp_path / "modelport.toml"
        config.write_text(text.replace("{uploads}", str(tmp_path / "uploads")))
    return Settings(data_dir=tmp_path / "data", database_url="sqlite://", config_path=config)


def build(tmp_path: Path, text: str | None, environ: dict[str, str] | None = None) -> StorageRegistry:
    return build_storage(settings_for(tmp_path, text), ENVIRON if environ is None else environ)


def test_without_a_config_file_buckets_are_folders_under_the_data_dir(tmp_path: Path) -> None:
    registry = build(tmp_path, None)
    bucket = registry.bucket("any-name")
    assert isinstance(bucket, LocalBucket)
    assert isinstance(registry.model_store, LocalModelStore)
    assert registry.model_store.root == tmp_path / "data" / "models"
    (tmp_path / "data" / "buckets" / "any-name" / "m").mkdir(parents=True)
    (tmp_path / "data" / "buckets" / "any-name" / "m" / "a.json").write_text("{}")
    assert [e.key for e in bucket.list("m/", limit=10)] == ["a.json"]


def test_the_example_file_maps_names_to_backends(tmp_path: Path) -> None:
    registry = build(tmp_path, EXAMPLE)

    assert registry.bucket_names() == ["aws-bucket", "local-drop", "my-bucket"]
    oss = registry.bucket("my-bucket")
    assert isinstance(oss, OpenDalBucket)
    assert oss.location("models/x/") == "oss://my-bucket/models/x/"
    assert isinstance(registry.bucket("aws-bucket"), OpenDalBucket)
    assert registry.bucket("aws-bucket").location("m/") == "oss://aws-bucket/m/"
    local = registry.bucket("local-drop")
    assert isinstance(local, LocalBucket)
    store = registry.model_store
    assert isinstance(store, OpenDalModelStore)
    assert store.location("m-1") == "s3://models-bucket/modelport/m-1/"
    assert "real-oss-bucket-name/tenant-a/" in repr(oss)

    for shown in (repr(registry), repr(oss), repr(store), repr(vars(oss)), repr(vars(store)), str(vars(registry))):
        assert SECRET not in shown


def test_only_listed_buckets_exist(tmp_path: Path) -> None:
    registry = build(tmp_path, EXAMPLE)
    (tmp_path / "data" / "buckets" / "other").mkdir(parents=True)  # the default's folder must not be used
    with pytest.raises(BucketNotFound, match="'other' is not configured"):
        registry.bucket("other")


def test_without_a_model_store_table_the_store_stays_in_the_data_dir(tmp_path: Path) -> None:
    registry = build(tmp_path, '[buckets.local-drop]\nurl = "file:///srv/uploads/"\n')
    assert isinstance(registry.model_store, LocalModelStore)
    assert registry.model_store.root == tmp_path / "data" / "models"
    assert registry.bucket_names() == ["local-drop"]


def test_a_file_model_store_and_a_local_bucket_that_refuses_links(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    (uploads / "m").mkdir(parents=True)
    (uploads / "m" / "a.json").write_text("{}")
    (tmp_path / "outside.bin").write_bytes(b"x")
    (uploads / "m" / "link.bin").symlink_to(tmp_path / "outside.bin")
    text = f'[model_store]\nurl = "file://{tmp_path}/store"\n\n[buckets.local-drop]\nurl = "file://{uploads}"\n'
    registry = build(tmp_path, text)
    assert isinstance(registry.model_store, LocalModelStore)
    assert registry.model_store.root == tmp_path / "store"
    entries = {e.key: e.kind for e in registry.bucket("local-drop").list("m/", limit=10)}
    assert entries == {"a.json": "file", "link.bin": "symlink"}


def test_credentials_can_come_from_files_next_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "oss-secret").write_text(SECRET + "\n")
    text = """
[buckets.my-bucket]
url = "oss://real-oss-bucket-name/"
endpoint = "https://oss-cn-beijing.aliyuncs.com"
access_key_id = { file = "/dev/null-not-there" }
access_key_secret = { file = "oss-secret" }
"""
    with pytest.raises(
        StorageConfigError, match=r"\[buckets\.my-bucket\] access_key_id: cannot read /dev/null-not-there"
    ):
        build(tmp_path, text)
    (tmp_path / "oss-key").write_text("LTAIOSS")
    registry = build(tmp_path, text.replace("/dev/null-not-there", str(tmp_path / "oss-key")))
    assert isinstance(registry.bucket("my-bucket"), OpenDalBucket)


def test_a_literal_secret_works_but_is_logged_as_discouraged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="modelport.storage")
    text = f"""
[buckets.my-bucket]
url = "s3://bucket-one/"
endpoint = "http://127.0.0.1:9000"
access_key_id = "AKIDLITERAL"
secret_access_key = "{SECRET}"
"""
    registry = build(tmp_path, text)
    assert isinstance(registry.bucket("my-bucket"), OpenDalBucket)
    assert "secret_access_key is a literal credential" in caplog.text
    assert SECRET not in caplog.text and "AKIDLITERAL" not in caplog.text


BUCKET = '[buckets.my-bucket]\nurl = "s3://bucket-one/"\nendpoint = "http://127.0.0.1:9000"\n'
OSS = '[buckets.my-bucket]\nurl = "oss://bucket-one/"\nendpoint = "https://oss-cn-beijing.aliyuncs.com"\n'
STORE = '[model_store]\nurl = "s3://bucket-one/"\nendpoint = "http://127.0.0.1:9000"\n'


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("[storage]\nx = 1\n", "top level", "unknown table(s) storage"),
        ('buckets = "x"\n', "[buckets]", "must be a table"),
        ("[buckets.my-bucket]\nendpoint = 'http://x'\n", "[buckets.my-bucket]", "url is missing"),
        ('[buckets.my-bucket]\nurl = "gs://bucket-one/"\n', "[buckets.my-bucket] url", "must start with file://"),
        ('[buckets.My_Bucket]\nurl = "s3://bucket-one/"\n', "[buckets.My_Bucket]", "follows the OSS rule"),
        (BUCKET + "colour = 'blue'\n", "[buckets.my-bucket]", "unknown key(s) colour"),
        (BUCKET + "part_size = '8MiB'\n", "[buckets.my-bucket]", "unknown key(s) part_size"),
        (OSS + "secret_access_key = { env = 'X' }\n", "secret_access_key", "oss:// calls its secret access_key_secret"),
        ('[buckets.my-bucket]\nurl = "oss://bucket-one/"\n', "[buckets.my-bucket]", "endpoint is required for oss://"),
        ('[buckets.my-bucket]\nurl = "s3://bucket-one/"\n', "[buckets.my-bucket]", "region is required for AWS S3"),
        ('[buckets.my-bucket]\nurl = "s3://Bucket_One/"\nregion = "x"\n', "url", "not a valid s3 bucket name"),
        ('[buckets.my-bucket]\nurl = "s3://bucket-one/a/../b/"\nregion = "x"\n', "url", "'..' segments"),
        ('[buckets.my-bucket]\nurl = "s3://bucket-one/?x=1"\nregion = "x"\n', "url", "must be s3://bucket"),
        ('[buckets.my-bucket]\nurl = "file://relative/path"\n', "url", "file:///absolute/path"),
        ('[buckets.my-bucket]\nurl = "file:///srv"\nregion = "x"\n', "[buckets.my-bucket]", "unknown key(s) region"),
        (BUCKET.replace("http://127.0.0.1:9000", "ftp://host"), "endpoint", "http:// or https://"),
        (BUCKET.replace("http://127.0.0.1:9000", "http://host:99999"), "endpoint", "invalid port"),
        (BUCKET + "access_key_id = { env = 'NOT_SET_ANYWHERE' }\nsecret_access_key = { env = 'MODELS_AWS_SECRET' }\n",
         "access_key_id", "environment variable NOT_SET_ANYWHERE is not set"),
        (BUCKET + "access_key_id = { env = 'MODELS_AWS_KEY' }\n", "[buckets.my-bucket]", "give both access_key_id"),
        (BUCKET + "session_token = { env = 'MODELS_AWS_KEY' }\n", "[buckets.my-bucket]", "session_token needs"),
        (BUCKET + "access_key_id = { vault = 'x' }\n", "access_key_id", "must be { env = "),
        (BUCKET + "access_key_id = ''\n", "access_key_id", "is empty"),
        (BUCKET + "virtual_host_style = 'yes'\n", "virtual_host_style", "must be true or false"),
        (STORE + "part_size = '1MiB'\n", "[model_store] part_size", "between 5 MiB and 5 GiB"),
        (STORE + "part_size = 'lots'\n", "[model_store] part_size", "like \"16MiB\""),
        (STORE + "part_concurrency = 0\n", "[model_store] part_concurrency", "between 1 and 64"),
        ("[model_store]\nurl = 1\n", "[model_store] url", "must be a string"),
        ("[buckets.my-bucket\n", "not valid TOML", ""),
    ],
)  # fmt: skip
def test_problems_name_the_file_the_table_and_the_key(tmp_path: Path, text: str, where: str, problem: str) -> None:
    with pytest.raises(StorageConfigError) as raised:
        build(tmp_path, text)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'modelport.toml'}: ")
    assert where in message and problem in message, message
    assert SECRET not in message


def test_credentials_in_a_url_are_refused_without_being_echoed(tmp_path: Path) -> None:
    text = f'[buckets.my-bucket]\nurl = "s3://AKIDINURL:{SECRET}@bucket-one/"\nregion = "x"\n'
    with pytest.raises(StorageConfigError, match="must not hold credentials") as raised:
        build(tmp_path, text)
    assert SECRET not in str(raised.value) and "AKIDINURL" not in str(raised.value)
    text = f'[buckets.my-bucket]\nurl = "gs://AKIDINURL:{SECRET}@bucket-one/"\n'
    with pytest.raises(StorageConfigError, match="must start with") as raised:
        build(tmp_path, text)
    assert SECRET not in str(raised.value)


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="sqlite://", config_path=tmp_path / "absent.toml")
    with pytest.raises(StorageConfigError, match=r"absent\.toml: cannot be read"):
        build_storage(settings, {})


def test_the_process_environment_is_the_default_source_of_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    registry = build_storage(settings_for(tmp_path, EXAMPLE))
    assert registry.bucket_names() == ["aws-bucket", "local-drop", "my-bucket"]
    monkeypatch.delenv("OSS_ACCESS_KEY_SECRET")
    with pytest.raises(StorageConfigError, match="OSS_ACCESS_KEY_SECRET is not set"):
        build_storage(settings_for(tmp_path, EXAMPLE))
