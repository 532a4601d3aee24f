"""Settings modules: ``local`` (the zero-setup default), ``production`` and ``test``.

Everything is read from the environment in ``base``; the other modules only
change what differs for their mode.
"""
