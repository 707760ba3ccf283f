"""The web service: the matcher's API and the planner's page (FastAPI)."""
