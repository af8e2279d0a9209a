"""Django settings for Peer-RX.

Everything that differs between a laptop, CI and production comes from the
environment (see README's configuration table). The defaults run the whole system
on one machine with nothing else installed: SQLite under var/, Celery's filesystem
broker under var/, and SMS written to the console and the database.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from core.env import (
    env_bool,
    env_choice,
    env_database_url,
    env_float,
    env_fraction,
    env_import_path,
    env_int,
    env_list,
    env_log_level,
    env_origins,
    env_phone_region,
    env_str,
    env_time_zone,
    env_url,
)
from peerrx.errors import init_sentry, parse_admins

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PEERRX_VAR_DIR", str(BASE_DIR / "var")))

# --- Core -----------------------------------------------------------------------------

DEFAULT_SECRET_KEY = "insecure-development-key-change-me"  # noqa: S105 - refused when DEBUG is off
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", DEFAULT_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_origins("CSRF_TRUSTED_ORIGINS")
# Where people and Twilio reach Peer-RX: links in texts and emails, and the URL Twilio signs.
# The port `make run` serves on (Procfile.dev); the public URL's local default follows it, so links
# in texts and status callbacks point at the running server.
PEERRX_PORT = env_int("PEERRX_PORT", 8000, minimum=1)
DEFAULT_PUBLIC_BASE_URL = f"http://127.0.0.1:{PEERRX_PORT}"
PEERRX_PUBLIC_BASE_URL = env_url("PEERRX_PUBLIC_BASE_URL", DEFAULT_PUBLIC_BASE_URL)

if not DEBUG:
    if SECRET_KEY == DEFAULT_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of at least 32 characters when DEBUG is off "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))").'
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must list the host names Peer-RX is served on when DEBUG is off "
            "(comma-separated, e.g. ALLOWED_HOSTS=peer-rx.example.org)."
        )
    if "*" in ALLOWED_HOSTS:
        # Any Host header would do, and Django's host checks with it; ".peer-rx.example.org"
        # still allows every subdomain of one domain.
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must not be * when DEBUG is off: list the host names Peer-RX is served on "
            "(a leading dot, .peer-rx.example.org, allows its subdomains)."
        )
    if PEERRX_PUBLIC_BASE_URL == DEFAULT_PUBLIC_BASE_URL or not PEERRX_PUBLIC_BASE_URL.startswith("https://"):
        # Twilio signs the public URL it posts to: a wrong one fails every webhook's signature.
        raise ImproperlyConfigured(
            "PEERRX_PUBLIC_BASE_URL must be the https:// address Peer-RX is served on when DEBUG is off "
            f"(e.g. https://peer-rx.example.org), not {PEERRX_PUBLIC_BASE_URL!r}."
        )

INSTALLED_APPS = [
    # Django's admin with Peer-RX's site: a verified second factor, every edit audited.
    "accounts.admin_apps.PeerRxAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "phonenumber_field",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_htmx",
    "csp",
    "accounts",
    "locations",
    "agencies",
    "peers",
    "peer_requests",
    "matching",
    "sms",
    "reporting",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.BoundedRequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.AccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
]

# Content-Security-Policy (django-csp): scripts and styles from Peer-RX's own static files only,
# no inline script or style, no framing, forms post only to Peer-RX. htmx runs without eval
# (its config meta tag in base.html turns eval and its inline indicator styles off).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

ROOT_URLCONF = "peerrx.urls"
WSGI_APPLICATION = "peerrx.wsgi.application"
ASGI_APPLICATION = "peerrx.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.role",
                "demo.context_processors.phone_simulator",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------

DATABASE_URL = env_database_url("DATABASE_URL", f"sqlite:///{VAR_DIR / 'peerrx.sqlite3'}")
try:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL Django understands: {exc}") from None

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The reports' whole-year queries cost enough to trigger PostgreSQL's JIT compiler, which
    # then spends longer compiling (0.3 s measured) than it saves on these scans.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat share the file: WAL lets readers run beside one writer, and
    # IMMEDIATE transactions take the write lock up front instead of failing mid-way.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Authentication -------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "accounts.backends.AccountCoolOffBackend",
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.RepetitivePasswordValidator"},
]

# Second factor (django-otp): Peer-RX staff and every admin login need a verified TOTP code or
# recovery code, and so do members of an organisation staff marked "MFA required". Not read from
# the environment on purpose: production cannot switch it off (the test settings do, like axes).
PEERRX_MFA_ENFORCED = True
OTP_TOTP_ISSUER = "Peer-RX"
# The admin lists who has an authenticator but never shows a key or its QR code.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Sessions end: after this long without a request (the live page's polling does not count) and
# this long after logging in, whatever happens. See docs/access.md.
PEERRX_SESSION_IDLE_SECONDS = env_int("PEERRX_SESSION_IDLE_SECONDS", 1800, minimum=60)
PEERRX_SESSION_MAX_SECONDS = env_int("PEERRX_SESSION_MAX_SECONDS", 43_200, minimum=300)
SESSION_COOKIE_AGE = PEERRX_SESSION_MAX_SECONDS

# The real client address: how many reverse proxies in front of Peer-RX append to X-Forwarded-For
# (0: none, use the connection's address). Used by the lockout and the audit trail alike.
PEERRX_TRUSTED_PROXY_COUNT = env_int("PEERRX_TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "core.addresses.client_address"

# Login rate limiting: lock an account/IP pair after repeated failures.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_float("AXES_COOLOFF_HOURS", 0.5, minimum=0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "locked_out.html"
# Every failure is kept (axes' failure log): the per-account cool-off below counts them, and a
# success no longer wipes the evidence.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Per account, from any address: this many failures within the cool-off refuse the account
# (even the right password) until the cool-off has passed since the last of them.
PEERRX_ACCOUNT_FAILURE_LIMIT = env_int("PEERRX_ACCOUNT_FAILURE_LIMIT", 10, minimum=1)
PEERRX_ACCOUNT_COOLOFF_SECONDS = env_int("PEERRX_ACCOUNT_COOLOFF_SECONDS", 300, minimum=1)

# --- Internationalisation ---------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_time_zone("PEERRX_TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True
PHONENUMBER_DEFAULT_REGION = env_phone_region("PHONENUMBER_DEFAULT_REGION", "US")
PHONENUMBER_DB_FORMAT = "E164"

# --- Static and media ---------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Credential documents are private: readable by the server's user and group only.
FILE_UPLOAD_PERMISSIONS = 0o640
STORAGES = {
    # Credential documents are private: they live outside STATIC_ROOT and are only ever
    # streamed by a permission-checked view, never by URL.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
CREDENTIAL_DOCUMENT_MAX_BYTES = env_int("CREDENTIAL_DOCUMENT_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
# No file may be larger than a credential document: past it an upload is dropped as it streams in
# (core.uploads), and a body declared larger than PEERRX_MAX_REQUEST_BYTES is refused unread.
PEERRX_MAX_UPLOAD_BYTES = CREDENTIAL_DOCUMENT_MAX_BYTES
PEERRX_MAX_REQUEST_BYTES = env_int("PEERRX_MAX_REQUEST_BYTES", 8 * 1024 * 1024, minimum=64 * 1024)
if PEERRX_MAX_REQUEST_BYTES <= PEERRX_MAX_UPLOAD_BYTES:
    raise ImproperlyConfigured(
        "PEERRX_MAX_REQUEST_BYTES must be larger than CREDENTIAL_DOCUMENT_MAX_BYTES "
        f"({PEERRX_MAX_REQUEST_BYTES} <= {PEERRX_MAX_UPLOAD_BYTES}), or no document could be uploaded."
    )
FILE_UPLOAD_HANDLERS = [
    "core.uploads.SizeLimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Email (password reset) -----------------------------------------------------------

# With DEBUG off mail goes out by SMTP: reset and invite links must reach people, not the log.
EMAIL_BACKEND = env_import_path(
    "EMAIL_BACKEND", f"django.core.mail.backends.{'console' if DEBUG else 'smtp'}.EmailBackend"
)
DEV_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}
PEERRX_ALLOW_DEV_EMAIL = env_bool("PEERRX_ALLOW_DEV_EMAIL", False)
if not DEBUG and EMAIL_BACKEND in DEV_EMAIL_BACKENDS and not PEERRX_ALLOW_DEV_EMAIL:
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND={EMAIL_BACKEND} sends no mail (it writes reset links to a log or to memory): "
        "set an SMTP backend when DEBUG is off, or PEERRX_ALLOW_DEV_EMAIL=true for a test machine."
    )
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Peer-RX <no-reply@peer-rx.local>")

# --- Security (production) ----------------------------------------------------------------

if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The health check is polled by load balancers over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Celery ------------------------------------------------------------------------------

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_QUEUE_DIR = VAR_DIR / "celery" / "queue"
    CELERY_QUEUE_DIR.mkdir(parents=True, exist_ok=True)
    # kombu's filesystem transport with atomic publish and claim (kombu bug 1551: its worker can die
    # on a half-written message under a burst); see peerrx/broker.py and docs/operations.md.
    CELERY_BROKER_TRANSPORT = "peerrx.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR),
        "data_folder_out": str(CELERY_QUEUE_DIR),
        # The exchange tables, which kombu otherwise writes to ./control in the checkout.
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
else:
    # A countdown task must outlive the longest deadline, or Redis hands it to a second
    # worker (Celery's visibility timeout); the sweeper still covers a lost one.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 3600}
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 120, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 90, minimum=1)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Publishing must not hang a web request when the broker is down: the outbox and the
# sweeper deliver whatever could not be enqueued.
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("CELERY_BROKER_CONNECTION_TIMEOUT", 2.0, minimum=0.1)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Reconnects after a Redis restart instead of exiting (see peerrx/worker.py).
CELERY_WORKER_CONSUMER = "peerrx.worker:Consumer"

# The cache holds rate-limit counters (sign-ups per address): in Redis, shared by every web
# process, when there is one; otherwise in each process's memory.
CACHE_URL = env_url(
    "CACHE_URL",
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis://") else "locmem://peerrx",
    schemes=frozenset({"redis", "rediss", "locmem"}),
)
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        if CACHE_URL.startswith("locmem://")
        else {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "peerrx",
        }
    )
}

# Celery's Django fix-up closes every database connection before and after each task (a new
# PostgreSQL connection per task, the largest cost of a reply). Workers keep them instead and
# check them around each task as Django does around each request (peerrx/celery.py):
# DB_CONN_MAX_AGE, and a health check before first use, so a restarted PostgreSQL costs one
# failed check, not a failed task. The fix-up's own count-based reuse is switched off by this.
CELERY_DB_REUSE_MAX = 2**62

# --- Peer-RX ------------------------------------------------------------------------------

PEERRX_SELECTION_SECONDS = env_int("PEERRX_SELECTION_SECONDS", 600, minimum=1)
PEERRX_EXPIRY_SECONDS = env_int("PEERRX_EXPIRY_SECONDS", 1800, minimum=1)
if PEERRX_EXPIRY_SECONDS <= PEERRX_SELECTION_SECONDS:
    raise ImproperlyConfigured(
        "PEERRX_EXPIRY_SECONDS must be longer than PEERRX_SELECTION_SECONDS "
        f"({PEERRX_EXPIRY_SECONDS} <= {PEERRX_SELECTION_SECONDS})."
    )
PEERRX_SWEEP_SECONDS = env_float("PEERRX_SWEEP_SECONDS", 5.0, minimum=0.5)
# A location cannot flood the peers or the request codes: live requests at once, and submits a
# minute by a location or by one user.
PEERRX_MAX_LIVE_REQUESTS_PER_LOCATION = env_int("PEERRX_MAX_LIVE_REQUESTS_PER_LOCATION", 10, minimum=1)
PEERRX_MAX_SUBMITS_PER_MINUTE = env_int("PEERRX_MAX_SUBMITS_PER_MINUTE", 5, minimum=1)
# One reminder to a peer who has not replied this long after their alert (0: no reminders).
PEERRX_REMINDER_SECONDS = env_int("PEERRX_REMINDER_SECONDS", 300, minimum=0)
# While a request is live, alert peers who become eligible (each sweep), and widen to the backup
# agencies when nobody said YES by the choice (or nobody could be alerted at submit).
PEERRX_ALERT_LATE_JOINERS = env_bool("PEERRX_ALERT_LATE_JOINERS", True)
PEERRX_WIDEN_TO_BACKUP = env_bool("PEERRX_WIDEN_TO_BACKUP", True)
# The assigned peer is reminded to text OMW after this long without it; the location and the
# agency's supervisors are told after twice this long.
PEERRX_ACK_SECONDS = env_int("PEERRX_ACK_SECONDS", 300, minimum=1)
# No arrival by the ETA plus this (or 60 minutes after assignment without an ETA): they are told.
PEERRX_ARRIVAL_GRACE_SECONDS = env_int("PEERRX_ARRIVAL_GRACE_SECONDS", 900, minimum=0)
# An assignment keeps its peer busy (no other alert, no other assignment) this long at most.
PEERRX_ASSIGNMENT_HOURS = env_float("PEERRX_ASSIGNMENT_HOURS", 4.0, minimum=0.25)
PEERRX_SUPPORT_CONTACT = env_str("PEERRX_SUPPORT_CONTACT", "info@peer-rx.com")
# Organisations signed up an hour from one address (each emails every staff member).
PEERRX_SIGNUPS_PER_HOUR = env_int("PEERRX_SIGNUPS_PER_HOUR", 5, minimum=1)

# Whom a location calls when Peer-RX itself fails (the 500 page); empty: none shown.
PEERRX_SUPPORT_PHONE = env_str("PEERRX_SUPPORT_PHONE").strip()

SMS_BACKEND = env_choice("SMS_BACKEND", "console", {"console", "twilio"})
# The console backend reports every text delivered, except this share: undelivered, 30003.
PEERRX_CONSOLE_SMS_FAILURE_RATE = env_fraction("PEERRX_CONSOLE_SMS_FAILURE_RATE", 0.0)
# Replies nobody asked for (usage hints and the like) to one number: beyond these Peer-RX stays
# silent, so an auto-responder cannot start a loop. A few an hour helps a peer who mistypes.
PEERRX_PASSIVE_REPLIES_PER_HOUR = env_int("PEERRX_PASSIVE_REPLIES_PER_HOUR", 3, minimum=0)
PEERRX_PASSIVE_REPLIES_PER_DAY = env_int("PEERRX_PASSIVE_REPLIES_PER_DAY", 10, minimum=0)
# The two seams through which texts reach the request workflow (see sms/handlers.py):
# sms knows numbers and messages; what a text means is decided by these, named by dotted path.
SMS_INBOUND_HANDLER = "peer_requests.replies.handle_text"
SMS_REFUSAL_HANDLER = "peer_requests.refusals.handle_refusal"
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_MESSAGING_SERVICE_SID = env_str("TWILIO_MESSAGING_SERVICE_SID")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER")
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL").rstrip("/")
PEERRX_SMS_MAX_PER_SECOND = env_float("PEERRX_SMS_MAX_PER_SECOND", 0.0, minimum=0.0)
# Sending threads per worker process, each holding a database connection during a fan-out.
PEERRX_SMS_SEND_CONCURRENCY = env_int("PEERRX_SMS_SEND_CONCURRENCY", 50, minimum=1)
PEERRX_SMS_TIMEOUT_SECONDS = env_float("PEERRX_SMS_TIMEOUT_SECONDS", 10.0, minimum=0.1)
PEERRX_SMS_MAX_ATTEMPTS = env_int("PEERRX_SMS_MAX_ATTEMPTS", 8, minimum=1)
# A text with a deadline (an alert until its request expires) is retried until it, at most
# this many seconds apart, instead of PEERRX_SMS_MAX_ATTEMPTS times.
PEERRX_SMS_RETRY_CAP_SECONDS = env_float("PEERRX_SMS_RETRY_CAP_SECONDS", 60.0, minimum=1.0)
if SMS_BACKEND == "twilio":
    if not (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN):
        raise ImproperlyConfigured("SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.")
    if not (TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER):
        raise ImproperlyConfigured(
            "SMS_BACKEND=twilio needs TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER."
        )
# The phone simulator replies through the inbound webhook, signed with this token when
# no Twilio token is configured (console SMS only).
SMS_SIGNING_TOKEN = TWILIO_AUTH_TOKEN or f"console-{SECRET_KEY}"
PEERRX_PHONE_SIMULATOR = env_bool("PEERRX_PHONE_SIMULATOR", DEBUG)

# Matching weights: points per component; see docs/dispatch.md, "How a peer is chosen".
PEERRX_MATCH_WEIGHTS = {
    "credential_fit": 40.0,
    "language": 30.0,
    "gender": 20.0,
    "age_range": 15.0,
    "preferred_agency": 25.0,
    "reply_speed": 5.0,
    "fairness": 10.0,
}

# --- Error reporting --------------------------------------------------------------------
# Sentry when SENTRY_DSN is set, and/or mail to ADMINS on a 500 (Django's mail_admins, DEBUG
# off); either way without phone numbers, text bodies or form fields (peerrx/errors.py).
SENTRY_DSN = env_str("SENTRY_DSN").strip()
ADMINS = parse_admins(env_str("PEERRX_ADMINS"))
SERVER_EMAIL = DEFAULT_FROM_EMAIL
DEFAULT_EXCEPTION_REPORTER_FILTER = "peerrx.error_mail.PrivateExceptionReporterFilter"
# What the 500 page may promise: "the team has been told" only when someone is.
PEERRX_ERRORS_REPORTED = bool(SENTRY_DSN or (ADMINS and not DEBUG))
if SENTRY_DSN:
    init_sentry(dsn=SENTRY_DSN, environment=env_str("SENTRY_ENVIRONMENT"), release=env_str("SENTRY_RELEASE"))

# --- Metrics ------------------------------------------------------------------------------
# /metrics (Prometheus) answers only with "Authorization: Bearer <this>"; empty: no endpoint.
PEERRX_METRICS_TOKEN = env_str("PEERRX_METRICS_TOKEN").strip()

# --- Logging ------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Every handler masks phone numbers and, unless DEBUG, leaves out text bodies (core/logs.py).
    "filters": {"mask_phone_numbers": {"()": "core.logs.MaskPhoneNumbers"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_phone_numbers"]}
    },
    "root": {"handlers": ["console"], "level": env_log_level("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
