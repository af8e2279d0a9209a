FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
RUN pip install --upgrade pip && pip install .
COPY . .
RUN SECRET_KEY=collectstatic-only-0123456789abcdefghijklmnop ALLOWED_HOSTS=build \
    PEERRX_PUBLIC_BASE_URL=https://build.invalid python manage.py collectstatic --noinput

RUN useradd --create-home peerrx && mkdir -p /app/var && chown -R peerrx /app/var
USER peerrx
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "peerrx.wsgi"]
