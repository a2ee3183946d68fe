"""The guard page's parts: its context, the dependencies every route uses, and one router per concern.

:mod:`edge.webapp` assembles them (``create_app``); ``templates/`` and ``static/`` hold the page itself.
"""
