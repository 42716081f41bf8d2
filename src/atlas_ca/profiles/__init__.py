"""atlas_ca.profiles."""
