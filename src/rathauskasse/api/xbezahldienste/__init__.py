"""XBezahldienste v1.0.0 (FITKO): Rathauskasse as the Bezahldienst that online services call.

`api.py` holds the endpoints (django-ninja, mounted at /xbezahldienste/v1/), `auth.py` the three
ways a caller proves who it is, `services.py` the rules, `wire.py` the exact JSON and cents
handling, `views.py` the page the payer returns to. Decision record 0018 explains the choices.
"""
