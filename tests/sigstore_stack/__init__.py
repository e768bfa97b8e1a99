"""A local, test-only Sigstore stack (OIDC issuer, Fulcio, CT, Rekor v1) on 127.0.0.1.

See ``__main__.py`` for the command line and ``fixture.py`` for the pytest fixture.
"""
