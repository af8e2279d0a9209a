"""Gunicorn's settings for Peer-RX's web process (gunicorn -c gunicorn.conf.py peerrx.wsgi).

Threaded workers (gthread): a worker's threads share one process and its database connections,
and an idle keep-alive connection waits in the worker's poller instead of holding a thread. A
request whose head arrives slowly still holds a thread while it is read (six half-open
connections left /healthz unanswered for 45 s with one worker of four threads, as with one sync
worker), so the buffering proxy in front (deploy/nginx.conf) is what absorbs slow clients; these
settings bound what reaches Django. Each value comes from the environment through core.env, so a
bad one names its variable.
"""

from core.env import env_int

bind = f"0.0.0.0:{env_int('PORT', 8000, minimum=1)}"
worker_class = "gthread"
# Each thread may hold a database connection (DB_CONN_MAX_AGE): workers x threads of them.
workers = env_int("WEB_CONCURRENCY", 3, minimum=1)
threads = env_int("GUNICORN_THREADS", 4, minimum=1)
# A request that runs longer than this is killed with its worker; then the graceful restart.
timeout = env_int("GUNICORN_TIMEOUT", 30, minimum=1)
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 30, minimum=1)
keepalive = env_int("GUNICORN_KEEPALIVE", 5, minimum=0)
# Gunicorn's own bounds on the request head (a longer line or header is refused with 400).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# A worker is replaced after this many requests (jittered), so slow leaks cannot grow forever.
max_requests = env_int("GUNICORN_MAX_REQUESTS", 2000, minimum=0)
max_requests_jitter = max_requests // 10
accesslog = "-"
errorlog = "-"
