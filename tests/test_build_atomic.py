"""Builds are atomic: an interrupted build leaves the previous one serving, and a build or ranker of another
version is refused with a message that says what to run."""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher import paths
from matcher.build import run_build
from matcher.cli import app
from matcher.engine import RANKER_FILE, Engine
from matcher.store import BUILD_FORMAT, Build, BuildMissing, current_dir, publish

MATCHER = Path(sys.executable).parent / "matcher"
# Small and fast builds: no link table (no place resolution) and --min-population 1,000,000, which leaves the
# ~2,000 places the curated profiles name and the largest cities.
SMALL = 1_000_000
TRAINING = "training the ranker"  # the progress line of the last, longest step: the build's folder is written


def install(home: Path, build: Path) -> Path:
    """`build` copied into `home` and made current, as `matcher build` would have left it."""
    copy = home / "builds" / build.name
    shutil.copytree(build, copy)
    (home / "current").symlink_to(Path("builds") / copy.name)
    return copy


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def partials(home: Path) -> list[Path]:
    return sorted((home / "builds").glob("*.partial"))


def kill_when_training(home: Path, cache: Path) -> None:
    """Run `matcher build` until its folder is written and training starts, then SIGKILL it."""
    env = {**os.environ, "MATCHER_HOME": str(home), "MATCHER_CACHE": str(cache)}
    build = subprocess.Popen([MATCHER, "build", "--min-population", str(SMALL)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for line in build.stderr:
            lines.append(line.rstrip())
            if TRAINING in line:
                break
    finally:
        build.kill()  # SIGKILL: nothing of the build's own clean-up runs
        build.wait()
    assert build.returncode == -signal.SIGKILL, lines  # killed, not finished or failed on its own


@pytest.mark.slow
def test_killed_build_leaves_previous_serving_and_next_build_cleans_up(curated_build, home, tmp_path):
    previous = install(home, curated_build.path)
    before = digests(previous)

    kill_when_training(home, tmp_path / "cache")  # a fresh cache: the project's stays untouched
    [killed] = partials(home)  # the killed build's folder: its tables written, its manifest not yet
    assert (killed / "cities.parquet").exists() and not (killed / "manifest.json").exists()
    served = Build.open(home)
    assert served.path == previous.resolve() and digests(previous) == before
    engine = Engine.open(served)
    assert engine.recommender.for_city(int(engine.table.ids[0]), 3)

    later = run_build(home, [], [], paths.context_dir(), train_ranker=False, min_population=SMALL)
    assert partials(home) == [] and Build.open(home).path == later.resolve()
    assert previous.exists()  # the previous build is kept beside the new one
    manifest = Build.open(home).manifest
    assert manifest["inputs"]["min_population"] == SMALL and manifest["counts"]["cities"] < 5_000


def test_publish_keeps_the_folder_of_a_build_still_running(tmp_path):
    builds = tmp_path / "builds"
    # 2**22 + 1 is above Linux's largest possible pid: a build that no longer runs.
    running, dead, finished = (builds / f"20260101-000000-{pid}.partial" for pid in (os.getpid(), 2**22 + 1, 7))
    for folder in (running, dead, finished):
        folder.mkdir(parents=True)
    publish(tmp_path, finished)
    assert partials(tmp_path) == [running]
    assert current_dir(tmp_path).resolve() == finished.with_suffix("").resolve()


def fake_build(home: Path, manifest: dict, ranker: dict | None = None) -> Path:
    """A build folder with only what the version checks read."""
    folder = home / "builds" / "20260101-000000-1"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    if ranker is not None:
        (folder / RANKER_FILE).write_text(json.dumps(ranker))
    (home / "current").symlink_to(Path("builds") / folder.name)
    return folder


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)  # a traceback fails the test


def test_build_of_another_format_is_refused(home):
    fake_build(home, {"format": BUILD_FORMAT + 1})
    with pytest.raises(BuildMissing, match=f"has format {BUILD_FORMAT + 1}.*run `matcher build` again"):
        Build.open(home)
    result = invoke("stats")
    assert result.exit_code == 1 and "run `matcher build` again" in result.output


@pytest.mark.parametrize("ranker, message", [
    ({"format": 0, "features": ["old"], "booster": ""}, "a ranker of another version (format 0)"),
    (None, "no trained ranker"),
])
def test_unusable_ranker_is_refused_by_engine_recommend_and_serve(home, ranker, message):
    fake_build(home, {"format": BUILD_FORMAT}, ranker)
    with pytest.raises(BuildMissing, match=re.escape(message)):
        Engine.open(Build.open(home))
    for command in (["recommend", "2950159"], ["serve", "--port", "1"]):  # serve exits before listening
        result = invoke(*command)
        assert result.exit_code == 1 and message in result.output and "matcher train" in result.output
