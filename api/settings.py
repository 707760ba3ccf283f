"""The service's settings, from the environment (MATCHER_HOME, MATCHER_API_*)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from matcher import paths


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHER_API_", populate_by_name=True)

    matcher_home: Path = Field(default_factory=paths.matcher_home,
                               validation_alias=AliasChoices("matcher_home", "MATCHER_HOME"),
                               description="The build to serve (the same MATCHER_HOME as the command line).")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default=[], description="Origins allowed to call the API from a browser, comma-separated ('*' for any).")
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(  # secret: never shown by repr or logs
        default=[], validation_alias=AliasChoices("api_keys", "MATCHER_API_KEYS"),
        description="When set (comma-separated), every /v1 request needs one of them in the X-API-Key header.")
    max_body_bytes: int = Field(default=64 * 1024, ge=1, description="Larger request bodies are refused (413).")
    threads: int = Field(default=1, ge=1, description="BLAS threads per request.")
    concurrency: int = Field(default=2, ge=1, description=(
        "Requests a worker computes at once; the others queue. Unset, 2 with one worker (the engine's compiled steps "
        "release the GIL, so a second request uses the other core) and 1 each with `--workers` 2 or more."))
    cache_size: int = Field(default=512, ge=0, description="Answers to identical recommendation requests for a "
                                                            "city kept in memory (0: none).")

    @field_validator("cors_origins", "api_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value):
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
