"""Certificate status and time-stamp services: OCSP (RFC 6960/5019) and TSA (RFC 3161).

Library functions here work without a server: :mod:`.ocsp` parses and builds OCSP requests and
responses and answers them from the register (:class:`.ocsp.OcspResponder`); :mod:`.tsp` parses
time-stamp requests and builds and verifies GOST-signed tokens. :mod:`.http` serves them, with
the published CRLs and CA certificates, as one WSGI application (``atlas-ca serve``).
"""
