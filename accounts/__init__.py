"""Sign-in: brute-force lockout (django-axes), login audit, single sign-on, session lifetimes."""
