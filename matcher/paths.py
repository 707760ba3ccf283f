"""Where things live: the project's own data, the build (MATCHER_HOME) and the optional reference data."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
VOCAB_DIR = DATA_DIR / "vocab"
PROFILES_DIR = DATA_DIR / "profiles"


def matcher_home() -> Path:
    """The build folder: $MATCHER_HOME, else a git-ignored folder inside the project."""
    return Path(os.environ.get("MATCHER_HOME") or PROJECT_ROOT / "build" / "home")


def shared_data() -> Path:
    """Reference data beside the project ($MATCHER_SHARED overrides); it may be absent."""
    return Path(os.environ.get("MATCHER_SHARED") or PROJECT_ROOT.parent / "shared" / "data")


def context_dir() -> Path | None:
    path = shared_data() / "context"
    return path if path.is_dir() else None


def threads() -> int:
    """Threads for LightGBM and torch: $MATCHER_JOBS, default 2 (the tests use 1: no oversubscription)."""
    return int(os.environ.get("MATCHER_JOBS") or 2)
