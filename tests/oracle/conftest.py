"""The oracle's fixtures: the real loaders (or a skip that says how to get them) and one data folder
with the tiny bases registered, shared by every oracle test.

Without torch, transformers and peft the oracle tests skip with the install command; with
MODELPORT_ORACLE_REQUIRED set (CI) they fail instead, so CI cannot lose the oracle silently.
"""

from __future__ import annotations

import importlib
import os
import warnings
from pathlib import Path
from types import ModuleType

import pytest

from modelport.settings import Settings

INSTALL = (
    "pip install -e '.[oracle]' (torch==2.13.0, transformers>=5.24,<6, peft>=0.21.2,<0.22); on Linux install the "
    "CPU torch first, `pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu`, or pip "
    "fetches PyPI's multi-GB CUDA build"
)
SKIP_MESSAGE = "the differential oracle needs the real loaders ({problem}); install them with: " + INSTALL


def _loaders_problem() -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the libraries' own import-time deprecations
            import peft
            import torch
            import transformers
    except ImportError as error:
        return f"{error.name} is not installed"
    versions = {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}
    if not (versions["transformers"].startswith("5.") and versions["peft"].startswith("0.21.")):
        return f"found {versions}, the oracle's facts were read from transformers 5 and peft 0.21"
    return None


@pytest.fixture(scope="session")
def oracle() -> ModuleType:
    """tests.support.oracle.runner, imported only once the real loaders are known to be there."""
    problem = _loaders_problem()
    if problem is not None:
        if os.environ.get("MODELPORT_ORACLE_REQUIRED"):
            pytest.fail(f"MODELPORT_ORACLE_REQUIRED is set but {problem}; install with: {INSTALL}")
        pytest.skip(SKIP_MESSAGE.format(problem=problem))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module("tests.support.oracle.runner")


@pytest.fixture(scope="session")
def oracle_settings(oracle: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("oracle") / "data"
    data_dir.mkdir()
    settings = Settings(data_dir=data_dir, database_url="sqlite://", chunk_bytes=64 * 1024, read_concurrency=2)
    oracle.register_bases(settings)
    return settings
