"""Curated city profiles (data/profiles/*.yaml) and their vocabularies (data/vocab/*.yaml).

A profile file holds the cities of one country, named by its ISO2 code. Every error names the file,
the city and the field, so that a city office can find and correct its own entry.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import re

import pandas as pd
import pycountry
import yaml
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator,
                      model_validator)

from matcher.paths import PROFILES_DIR, VOCAB_DIR
from matcher.resolve import local_place_id
from matcher.text import fold, fold_ascii

DESCRIPTION_WORDS = (30, 80)
SIZE_BANDS = ("small", "medium", "large")  # under 10,000 / 10,000-100,000 / over 100,000 people


@dataclass(frozen=True)
class Term:
    id: str
    label: str
    definition: str


@cache
def vocabulary(kind: Literal["industries", "themes"], folder: Path = VOCAB_DIR) -> dict[str, Term]:
    entries = read_yaml(folder / f"{kind}.yaml")
    return {entry["id"]: Term(**entry) for entry in entries}


class _Loader(yaml.SafeLoader):
    """YAML without YAML 1.1's yes/no booleans: Norway's code NO must stay a string."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def read_yaml(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)


def _country_code(value: str) -> str:
    if value != "XK" and pycountry.countries.get(alpha_2=value) is None:
        raise ValueError(f"unknown country code {value!r}")
    return value


CountryCode = Annotated[str, AfterValidator(_country_code)]  # ISO2


class Diaspora(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: CountryCode = Field(description="country of origin")
    size: Literal["small", "medium", "large"] | None = None


class Partner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    geonameid: int | None = None
    name: str | None = None      # for readers; checked against the gazetteer
    admin1: str | None = None    # region, to tell namesakes apart when filling the id
    country: str | None = None   # with name, lets `matcher profiles fill` find the id
    year: int | None = Field(default=None, ge=1900, le=2030)

    @model_validator(mode="after")
    def _identified(self) -> "Partner":
        if self.geonameid is None and not (self.name and self.country):
            raise ValueError("a partner needs a geonameid, or a name and a country")
        return self


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    country: CountryCode
    geonameid: int | None = None
    admin1: str | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    population: int | None = Field(default=None, ge=0)
    industries: list[str] = Field(min_length=2, max_length=6)
    diaspora: list[Diaspora] = []
    themes: list[str] = Field(min_length=1, max_length=10)
    languages: list[str] = []
    colonial_ties: list[CountryCode] = []
    description: str
    partners: list[Partner] = []

    @field_validator("industries")
    @classmethod
    def _known_industries(cls, values: list[str]) -> list[str]:
        return _check_terms(values, "industries")

    @field_validator("themes")
    @classmethod
    def _known_themes(cls, values: list[str]) -> list[str]:
        return _check_terms(values, "themes")

    @field_validator("description")
    @classmethod
    def _description_length(cls, value: str) -> str:
        value = " ".join(value.split())
        words = len(value.split())
        low, high = DESCRIPTION_WORDS
        if not low <= words <= high:
            raise ValueError(f"description has {words} words, expected {low}-{high}")
        return value

    @model_validator(mode="after")
    def _located(self) -> "Profile":
        if self.geonameid is None and None in (self.latitude, self.longitude, self.population):
            raise ValueError("a place without a geonameid needs latitude, longitude and population")
        return self

    @property
    def id(self) -> int:
        """The GeoNames id, or a local id for a place the gazetteer lacks."""
        return self.geonameid if self.geonameid is not None else local_place_id(self.country, self.name)

    def text(self) -> str:
        return f"{self.name}. {self.description}"


def _check_terms(values: list[str], kind: Literal["industries", "themes"]) -> list[str]:
    known = vocabulary(kind)
    if unknown := [v for v in values if v not in known]:
        raise ValueError(f"unknown {kind} id(s) {unknown}; valid ids: {', '.join(sorted(known))}")
    if len(set(values)) != len(values):
        raise ValueError(f"repeated {kind} id(s)")
    return values


class ProfileError(Exception):
    """One or more curated profiles are invalid; the message lists every problem."""


def _location(path: Path, name: str) -> str:
    return f"{path.name}: {name}"


def read_profile_file(path: Path) -> tuple[list[Profile], list[str]]:
    """Parse one file; returns the valid profiles and the errors of the others."""
    try:
        raw = read_yaml(path) or []
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return [], [f"{path.name}: not valid YAML ({exc})"]
    if not isinstance(raw, list):
        return [], [f"{path.name}: expected a list of cities"]
    profiles, errors = [], []
    for number, entry in enumerate(raw, start=1):
        name = entry.get("name", f"entry {number}") if isinstance(entry, dict) else f"entry {number}"
        try:
            profile = Profile.model_validate(entry)
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(part) for part in error["loc"]) or "entry"
                errors.append(f"{_location(path, name)}: {field}: {error['msg']}")
            continue
        if profile.country != path.stem:
            errors.append(f"{_location(path, name)}: country: {profile.country} in the file for {path.stem}")
        profiles.append(profile)
    return profiles, errors


def _matches(name: str, place: pd.Series) -> bool:
    wanted = {fold(name), fold_ascii(name)}
    names = {fold(place["name"]), fold_ascii(place["name"])} | {fold(alt) for alt in place["alternate_names"]}
    return bool(wanted & names) or any(w in n or n in w for w in wanted for n in names if len(n) > 3)


def check_profiles(profiles_by_file: dict[Path, list[Profile]], places: pd.DataFrame,
                   only: list[Path] | None = None) -> list[str]:
    """Cross-file checks: ids exist and match the name, no duplicates, partners resolve."""
    errors = []
    ids = Counter(p.id for profiles in profiles_by_file.values() for p in profiles)
    known = set(places.index) | set(ids)
    checked = {p.resolve() for p in only} if only is not None else None
    for path, profiles in profiles_by_file.items():
        if checked is not None and path.resolve() not in checked:
            continue
        for profile in profiles:
            where = _location(path, profile.name)
            if ids[profile.id] > 1:
                errors.append(f"{where}: geonameid: {profile.id} is curated more than once")
            if profile.geonameid is not None:
                if profile.geonameid not in places.index:
                    if profile.latitude is None:
                        errors.append(f"{where}: geonameid: {profile.geonameid} is not in the gazetteer; "
                                      "give latitude, longitude and population")
                else:
                    place = places.loc[profile.geonameid]
                    if place["country"] != profile.country:
                        errors.append(f"{where}: geonameid: {profile.geonameid} is {place['name']} in "
                                      f"{place['country']}")
                    elif not _matches(profile.name, place):
                        errors.append(f"{where}: geonameid: {profile.geonameid} is {place['name']}, "
                                      f"not {profile.name}")
            if profile.country in {d.country for d in profile.diaspora}:
                errors.append(f"{where}: diaspora: lists its own country {profile.country}")
            for number, partner in enumerate(profile.partners):
                field = f"{where}: partners.{number}"
                if partner.geonameid is None:
                    errors.append(f"{field}: no geonameid for {partner.name}; run `matcher profiles --fill {path}`")
                elif partner.geonameid not in known:
                    errors.append(f"{field}: {partner.geonameid} is neither in the gazetteer nor curated")
                elif partner.geonameid == profile.id:
                    errors.append(f"{field}: a city cannot partner itself")
                elif partner.name and partner.geonameid in places.index and \
                        not _matches(partner.name, places.loc[partner.geonameid]):
                    errors.append(f"{field}: {partner.geonameid} is {places.loc[partner.geonameid, 'name']}, "
                                  f"not {partner.name}")
            partner_ids = [p.geonameid for p in profile.partners if p.geonameid is not None]
            if len(set(partner_ids)) != len(partner_ids):
                errors.append(f"{where}: partners: the same partner is listed twice")
    return errors


def profile_files(folder: Path = PROFILES_DIR) -> list[Path]:
    return sorted(folder.glob("*.yaml"))


def load_profiles(places: pd.DataFrame, folder: Path = PROFILES_DIR, only: list[Path] | None = None) -> list[Profile]:
    """Every curated profile, validated; raises ProfileError listing every problem.

    With `only`, just those files are checked (partners may still point at any file's cities).
    """
    by_file, errors = {}, []
    for path in profile_files(folder):
        profiles, file_errors = read_profile_file(path)
        by_file[path] = profiles
        if only is None or path.resolve() in {p.resolve() for p in only}:
            errors += file_errors
    errors += check_profiles(by_file, places, only)
    if errors:
        raise ProfileError(f"{len(errors)} problem(s) in curated profiles:\n" + "\n".join(errors))
    return [profile for profiles in by_file.values() for profile in profiles]


def profile_record(profile: Profile) -> dict:
    """The JSON shape of `matcher profiles --json` (a contract): one object per profile."""
    record = profile.model_dump(exclude_none=True)
    record["geonameid"] = profile.id
    record["partners"] = [p.model_dump(exclude_none=True) for p in profile.partners]
    return record


# -- curation tooling ---------------------------------------------------------------------------------
_KEY_ORDER = ["name", "country", "admin1", "geonameid", "latitude", "longitude", "population", "industries",
              "diaspora", "themes", "languages", "colonial_ties", "description", "partners"]


class _Dumper(yaml.SafeDumper):
    pass


class _Flow(list):
    pass


class _FlowMap(dict):
    pass


_Dumper.add_representer(_Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
_Dumper.add_representer(_FlowMap, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))


def dump_profiles(entries: list[dict]) -> str:
    """Canonical, human-friendly YAML for a profile file: short lists on one line, one partner a line."""
    out = []
    for entry in entries:
        if entry.get("description"):
            entry["description"] = " ".join(str(entry["description"]).split())
        ordered = {key: entry[key] for key in _KEY_ORDER if entry.get(key) not in (None, [])}
        ordered.update({k: v for k, v in entry.items() if k not in ordered and v not in (None, [])})
        for key in ("industries", "themes", "languages", "colonial_ties"):
            if key in ordered:
                ordered[key] = _Flow(ordered[key])
        for key in ("diaspora", "partners"):
            if key in ordered:
                ordered[key] = [_FlowMap({k: v for k, v in item.items() if v is not None}) for item in ordered[key]]
        out.append(ordered)
    return yaml.dump(out, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


def fill_ids(path: Path, resolver, places: pd.DataFrame) -> list[str]:
    """Give every city and partner of a file that has only a name its GeoNames id; returns what was done.

    Places the gazetteer has under several names or in several regions are reported for a person to check.
    """
    entries = read_yaml(path) or []
    log = []

    def find(name: str, country: str, admin1: str | None) -> int | None:
        query = f"{name}, {admin1}" if admin1 else name
        found = resolver.resolve(query, country)
        if found.geonameid is None or found.geonameid not in places.index:
            log.append(f"  NOT FOUND {name} ({country}{', ' + admin1 if admin1 else ''}): "
                       f"{found.reason or 'not in the gazetteer'}; namesakes: {resolver.candidates(name, country)[:5]}")
            return None
        namesakes = [i for i in resolver.candidates(name, country) if i != found.geonameid
                     and places.loc[i, "population"] >= 5_000]
        place = places.loc[found.geonameid]
        warn = f"  CHECK namesakes {namesakes[:4]}" if namesakes else ""
        log.append(f"  {name} ({country}) -> {found.geonameid} {place['name']} [{place['admin1_code']}] "
                   f"pop {place['population']:,}{warn}")
        return found.geonameid

    for entry in entries:
        if entry.get("geonameid") is None and entry.get("latitude") is None:
            entry["geonameid"] = find(entry["name"], entry["country"], entry.get("admin1"))
        for partner in entry.get("partners") or []:
            if partner.get("geonameid") is None and partner.get("name"):
                partner["geonameid"] = find(partner["name"], partner.get("country") or entry["country"],
                                            partner.get("admin1"))
        entry["partners"] = [{"geonameid": p.get("geonameid"), "name": p.get("name"), "year": p.get("year"),
                              **({"country": p.get("country"), "admin1": p.get("admin1")}
                                 if p.get("geonameid") is None else {})}
                             for p in entry.get("partners") or []]
    path.write_text(dump_profiles(entries), encoding="utf-8")
    return log


def coverage(profiles: list[Profile]) -> dict:
    """How complete the curated profiles are: the figures the data card reports."""
    rich = [p for p in profiles if len(p.industries) >= 2 and p.diaspora and p.themes
            and len(p.description.split()) >= 25]
    return {"profiles": len(profiles), "rich": len(rich),
            "rich_share": round(len(rich) / len(profiles), 4) if profiles else None,
            "countries": len({p.country for p in profiles}),
            "partner_pairs": len({tuple(sorted((p.id, q.geonameid))) for p in profiles for q in p.partners})}


def confirm_partners(profiles: list[Profile], link_pairs: set[tuple[int, int]]) -> dict:
    """Share of curated partner pairs that the reference link tables confirm.

    Only pairs whose two cities both appear in the reference data can be checked.
    """
    linked = {city for pair in link_pairs for city in pair}
    curated = {tuple(sorted((p.id, q.geonameid))): p for p in profiles for q in p.partners}
    checkable = [pair for pair in curated if pair[0] in linked and pair[1] in linked]
    confirmed = [pair for pair in checkable if pair in link_pairs]
    return {"curated_pairs": len(curated), "checkable_pairs": len(checkable), "confirmed_pairs": len(confirmed),
            "confirmed_share": round(len(confirmed) / len(checkable), 4) if checkable else None,
            "unconfirmed": sorted(f"{curated[pair].country}: {curated[pair].name} {pair}"
                                  for pair in set(checkable) - set(confirmed))}
