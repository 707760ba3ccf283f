"""Request and response bodies: the API's contract, described in /openapi.json."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from matcher.recommend import CityProfile, Filters

MAX_POPULATION = 10_000_000_000  # bounds what reaches numpy's int64 comparisons


class Problem(BaseModel):
    field: str = Field(description="Where the problem is: a parameter, or a path into the JSON body.")
    message: str


class City(BaseModel):
    """A city in brief: enough to tell namesakes apart (Portland, Oregon from Portland, Maine) and to map it."""
    geonameid: int
    name: str
    admin1: str | None = Field(description="First-level region (state, province), when known.")
    country: str = Field(description="ISO 3166 alpha-2 code.")
    continent: str | None = Field(description="AF, AN, AS, EU, NA, OC or SA.")
    population: int = Field(description="0 where unknown.")
    latitude: float
    longitude: float


class Error(BaseModel):
    message: str = Field(description="What went wrong, for a person.")
    problems: list[Problem] = Field(default=[], description="Each invalid parameter, for 422.")
    matches: list[City] = Field(default=[], description="Cities whose name is close to the text given for an id.")


class Health(BaseModel):
    status: str


class SearchQuery(BaseModel):
    q: str
    country: str | None
    limit: int


class CitySearch(BaseModel):
    query: SearchQuery
    results: list[City] = Field(description="By relevance (exact before prefix, name before alternate name), "
                                            "then size.")
    suggestions: list[City] = Field(description="Close spellings, when nothing matched.")


class Diaspora(BaseModel):
    country: str = Field(description="ISO2 code of the country the community comes from.")
    size: str | None = None


class Curated(BaseModel):
    """The project's curated profile of a city (data/profiles)."""
    industries: list[str] = Field(description="Ids of the industries vocabulary (labels in /v1/meta).")
    themes: list[str] = Field(description="Ids of the themes vocabulary (labels in /v1/meta).")
    diaspora: list[Diaspora]
    languages: list[str]
    colonial_ties: list[str]
    description: str


class CityDetails(City):
    subregion: str | None
    timezone: str | None
    climate: str | None = Field(description="Köppen climate zone.")
    capital: bool
    admin_seat: bool
    district: bool = Field(description="A district of a larger city.")
    harbour_size: int = Field(description="0 (none) to 4 (large).")
    airport: str | None = Field(description="'major', 'mid' or none.")
    income_group: str | None = Field(description="World Bank income group of the country.")
    alternate_names: list[str]
    curated: Curated | None = Field(description="Null for a city without a curated profile.")
    known_partners: list[int] = Field(description="GeoNames ids of its known partners.")


class Partner(City):
    sources: list[str] = Field(description="Link tables listing the partnership, and 'curated' for the profiles.")


class Partners(BaseModel):
    city: City
    partners: list[Partner]


class FilterFields(BaseModel):
    """Which cities may be suggested; lists are ANDed with each other, values inside a list ORed (except
    industries and themes: a suggestion must have every one)."""
    countries: list[str] = Field(default=[], max_length=300, description="ISO2 codes.")
    exclude_countries: list[str] = Field(default=[], max_length=300, description="ISO2 codes.")
    continents: list[str] = Field(default=[], max_length=7, description="AF, AN, AS, EU, NA, OC, SA.")
    min_population: int | None = Field(default=None, ge=0, le=MAX_POPULATION)
    max_population: int | None = Field(default=None, ge=0, le=MAX_POPULATION)
    industries: list[str] = Field(default=[], max_length=50, description="Industry ids a suggestion must have.")
    themes: list[str] = Field(default=[], max_length=50, description="Theme ids a suggestion must have.")
    languages: list[str] = Field(default=[], max_length=50, description="ISO 639 codes; one must be spoken there.")
    intent: str | None = Field(default=None, max_length=1000, description="What the city looks for, in plain words.")
    diversity: float = Field(default=0.0, ge=0.0, le=1.0,
                             description="0: no limit per country; 1: at most one suggestion per country.")

    @field_validator("countries", "exclude_countries", "continents")
    @classmethod
    def _upper(cls, values: list[str]) -> list[str]:
        return [v.strip().upper() for v in values if v.strip()]

    @field_validator("industries", "themes", "languages")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        return [v.strip().lower() for v in values if v.strip()]

    def filters(self) -> Filters:
        return Filters(**self.model_dump(include=set(FilterFields.model_fields)))


class ProfileIn(BaseModel):
    """A city described by the caller: one missing from the catalogue, or one with edited fields."""
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(pattern=r"^[A-Za-z]{2}$", description="ISO2 code.")
    latitude: float = Field(ge=-90, le=90, allow_inf_nan=False)
    longitude: float = Field(ge=-180, le=180, allow_inf_nan=False)
    population: int = Field(ge=0, le=100_000_000)
    industries: list[str] = Field(default=[], max_length=50, description="Ids of the industries vocabulary.")
    themes: list[str] = Field(default=[], max_length=50, description="Ids of the themes vocabulary.")
    diaspora: list[str] = Field(default=[], max_length=250,
                                description="ISO2 codes of the countries its diaspora communities come from.")
    description: str = Field(default="", max_length=5000)
    partners: list[int] = Field(default=[], max_length=1000, description="GeoNames ids of its current partners.")

    @field_validator("country")
    @classmethod
    def _country_upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("diaspora")
    @classmethod
    def _codes_upper(cls, values: list[str]) -> list[str]:
        return [v.strip().upper() for v in values]

    def profile(self) -> CityProfile:
        return CityProfile(**self.model_dump())


class RecommendationRequest(FilterFields):
    model_config = ConfigDict(extra="forbid")  # a misspelt filter is reported, not silently ignored
    profile: ProfileIn
    k: int = Field(default=10, ge=1, le=100)


class RecommendationQuery(City):
    """The city suggestions were made for (geonameid null for a described city), k and the filters."""
    geonameid: int | None
    k: int
    filters: FilterFields


class Recommendation(City):
    score: float = Field(description="Two-sided partnership score of the learned ranker; higher is better.")
    reasons: list[str] = Field(description="Why this city, in plain sentences, strongest first.")
    contributions: dict[str, float] = Field(description="Each pair feature's contribution to the score.")


class Recommendations(BaseModel):
    query: RecommendationQuery
    known_partners: list[int] = Field(description="Known partners of the city: never suggested.")
    results: list[Recommendation] = Field(description="Best first.")


class Facts(BaseModel):
    """What a planner compares side by side."""
    model_config = ConfigDict(extra="allow")
    population: int | None
    distance_km: float
    same_country: bool
    shared_languages: list[str]
    shared_official_language: bool
    born_in_candidate_country_living_in_city_country: int = Field(
        description="Migrants from the candidate's country living in the city's country.")
    born_in_city_country_living_in_candidate_country: int
    shared_industries: list[str]
    shared_themes: list[str]
    text_similarity: float = Field(description="Cosine similarity of the two cities' descriptions.")
    common_partners: list[int] = Field(description="GeoNames ids of partners both cities have.")
    city_partners_in_candidate_country: int
    candidate_partners_in_city_country: int
    candidate_partner_count: int
    climate: str | None
    known_partner: bool = Field(description="Already a partner of the city.")


class Comparison(Recommendation):
    facts: Facts


class Comparisons(BaseModel):
    city: City
    candidates: list[Comparison] = Field(description="In the order asked for.")


class DataFile(BaseModel):
    name: str
    sha256: str
    bytes: int


class DataVersion(BaseModel):
    build_format: int
    counts: dict[str, int]
    links: list[DataFile]
    migration: list[DataFile]
    context: bool = Field(description="Whether place context (ports, airports, income groups) was joined.")


class ModelVersion(BaseModel):
    model_config = ConfigDict(extra="allow")
    training_rows: int | None = None
    training_queries: int | None = None
    params: dict[str, Any]
    feature_importance: dict[str, float]


class Meta(BaseModel):
    matcher_version: str
    built_at: str = Field(description="When the build was made (UTC, ISO 8601).")
    data: DataVersion
    model: ModelVersion
    evaluation: dict[str, Any] | None = Field(
        description="Hold-out evaluation of the build (`matcher evaluate`); null when none was run.")
    vocabularies: dict[str, dict[str, str]] = Field(description="Industry and theme ids with their labels.")
