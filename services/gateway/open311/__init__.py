"""Open311 GeoReport v2 at ``/open311/v2/``: the ``open311`` channel's adapter.

Services are the commitment register's items; a request is a complaint whose
``service_request_id`` is its tracking number and whose ``token`` is its id.
"""
