"""The intents REST API, one module per area."""
