"""atlas_ca.domain."""
