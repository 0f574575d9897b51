"""The pure core: no threads, sockets or pins; state and time in, decisions out."""
