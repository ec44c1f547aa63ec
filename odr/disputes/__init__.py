"""The dispute domain: models, states, operations, deadlines, routing, records. No routes."""
