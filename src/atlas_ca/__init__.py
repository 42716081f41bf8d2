"""atlas_ca — core library of an accredited Russian certificate authority."""

__version__ = "0.1.0"
