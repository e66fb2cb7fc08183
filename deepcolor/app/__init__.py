"""The local web app of ``deepcolor serve``: :mod:`.server` (routes) and :mod:`.session` (one photo)."""
