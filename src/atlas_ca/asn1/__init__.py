"""ASN.1 declarations: every OID (:mod:`.oids`) and the asn1crypto specs registered once."""
