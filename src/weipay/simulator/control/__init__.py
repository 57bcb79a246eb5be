"""The simulator's own doors: the control API (``/simulator/…``) and the payer page that plays the WeChat app."""
