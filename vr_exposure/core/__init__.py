"""Pure-Python core: content specs, session engine, SUDS schedule, metrics. No Qt, no Panda3D."""
