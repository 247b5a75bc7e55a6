"""restricted_exec inside the agent frameworks people use, each behind an extra:

- ``restricted_exec.integrations.mcp_server``: a Model Context Protocol server (``[mcp]``);
- ``restricted_exec.integrations.smolagents``: a smolagents ``PythonExecutor`` (``[smolagents]``);
- ``restricted_exec.integrations.langchain``: a LangChain ``StructuredTool`` (``[langchain]``).

Each builds on ``restricted_exec.tools``, which needs no extra.
"""
