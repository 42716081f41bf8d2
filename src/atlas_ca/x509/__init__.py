"""atlas_ca.x509."""
