"""The audit log's implementation; users import it from :mod:`restricted_exec.audit`."""
