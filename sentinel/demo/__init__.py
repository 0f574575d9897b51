"""``sentinel demo`` and what only it and the tests use: the story, a simulated resident, a broker, an ntfy stand-in."""
