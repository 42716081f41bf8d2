"""Session fixtures shared by the whole suite; their code lives in :mod:`atlas_testing`."""

from support.atlas_testing import certtool, openssl_gost, softhsm

__all__ = ["certtool", "openssl_gost", "softhsm"]
