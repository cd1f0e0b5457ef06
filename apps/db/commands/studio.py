from __future__ import annotations


def studio(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the web app (the admin under /admin/) with uvicorn until interrupted.

    :param host:
        Interface to listen on.
    :param port:
        Port to listen on.
    """
    import uvicorn

    from apps.db.cli import run_command
    from apps.db.connection import dedicated_connection

    async def reachable() -> None:
        async with dedicated_connection() as connection:
            await connection.fetchval("SELECT 1")

    # A clear line before uvicorn starts, rather than its tracebacks from the lifespan.
    run_command(reachable())
    print(f"studio: http://{host}:{port}/admin/")
    uvicorn.run("app:app", host=host, port=int(port))
