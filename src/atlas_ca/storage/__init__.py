"""atlas_ca.storage."""
