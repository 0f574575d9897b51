"""The agent: the program on the Pi that reads the sensors, keeps the home's record and raises alerts."""
