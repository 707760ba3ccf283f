"""The build on disk: one folder per build under MATCHER_HOME/builds, `current` pointing at the live one.

A build is written into a fresh folder and made live by replacing the `current` link in one atomic step, so a
failed or interrupted build never touches the build that is serving.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

BUILD_FORMAT = 2  # bump when the files of a build change shape; older builds are then refused


class BuildMissing(Exception):
    """No usable build: the message says why and how to make one."""


def current_dir(home: Path) -> Path:
    return home / "current"


def new_build_dir(home: Path) -> Path:
    builds = home / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    path = builds / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.partial"
    path.mkdir()
    return path


def publish(home: Path, build: Path, keep: int = 2) -> Path:
    """Make a finished build live (atomic link swap) and prune older builds."""
    final = build.with_suffix("")
    build.rename(final)
    link = home / f".current-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(Path("builds") / final.name)
    os.replace(link, current_dir(home))
    finished = sorted(p for p in (home / "builds").iterdir() if not p.name.endswith(".partial"))
    for old in finished[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in (home / "builds").glob("*.partial"):  # left by interrupted builds
        if stale != build and not _running(stale):
            shutil.rmtree(stale, ignore_errors=True)
    return final


def _running(partial: Path) -> bool:
    """Whether the build writing this folder (its pid ends the name) still runs: a concurrent build keeps its own."""
    try:
        os.kill(int(partial.name.removesuffix(".partial").rsplit("-", 1)[-1]), 0)
    except (ValueError, ProcessLookupError):  # not a build's name, or its process is gone
        return False
    except PermissionError:  # alive, owned by another user
        pass
    return True


@dataclass
class Build:
    """Read access to a finished build."""
    path: Path

    @classmethod
    def open(cls, home: Path) -> "Build":
        path = current_dir(home)
        manifest = path / "manifest.json"
        if not manifest.exists():
            raise BuildMissing(f"no build in {home}: run `matcher build` (see README) or set MATCHER_HOME")
        found = json.loads(manifest.read_text())
        if found.get("format") != BUILD_FORMAT:
            raise BuildMissing(f"the build in {home} has format {found.get('format')}, this matcher reads format "
                               f"{BUILD_FORMAT}: run `matcher build` again")
        return cls(path.resolve())

    @cached_property
    def manifest(self) -> dict:
        return json.loads((self.path / "manifest.json").read_text())

    @cached_property
    def cities(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / "cities.parquet")

    @cached_property
    def countries(self) -> pd.DataFrame:
        return pd.read_json(self.path / "countries.json", orient="index")

    @cached_property
    def pairs(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / "pairs.parquet")

    @cached_property
    def migration(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / "migration.parquet")

    @cached_property
    def profiles(self) -> list[dict]:
        lines = (self.path / "profiles.jsonl").read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line]

    @cached_property
    def link_report(self) -> dict:
        return json.loads((self.path / "link_report.json").read_text())
