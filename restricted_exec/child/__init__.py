"""What runs inside a sandboxed child: decode a request, build the globals, run, reply.

``executor`` is the entry the fork server calls (``warm_up``, ``prepare``, ``run_prepared``)
and also runs inline mode's programs; ``protocol`` is the host/child wire format of a run.
Imports only ``language`` and the standard library (never pydantic or the host side): the fork
server that forks every child stays small.
"""
