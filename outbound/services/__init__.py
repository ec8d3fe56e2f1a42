"""Use cases: what the API, the CLI and the dispatcher ask of outbound."""
