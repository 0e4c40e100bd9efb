"""IoTitan's engine: the parts that know nothing of Home Assistant.

Everything here is plain Python (asyncio and aiohttp at most) so that it can be
tested on its own and, one day, published as a library of its own.
"""
