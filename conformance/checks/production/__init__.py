"""Production-app checks: protocol rules any app must meet, given sample inputs (spec 13.4)."""
