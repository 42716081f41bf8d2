"""atlas_ca.services."""
