FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY config config
COPY accounting accounting
COPY invoicing invoicing
COPY expenses expenses
COPY procurement procurement
COPY cwapi cwapi
RUN pip install --no-cache-dir .
COPY . .
# The product runs as an unprivileged user (no shell, no password). It owns only what
# the product writes: /data (export files in /data/media, ledgers in /data/ledgers;
# the compose file's named volumes start with this ownership) and the collected static
# files under /app/var. The code stays root's, read-only to the product.
RUN groupadd --system --gid 10001 psa \
    && useradd --system --uid 10001 --gid psa --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin psa \
    && mkdir -p /data/media /data/ledgers /app/var/static \
    && chown -R psa:psa /data /app/var
ENV MEDIA_ROOT=/data/media LEDGER_ROOT=/data/ledgers STATIC_ROOT=/app/var/static
USER psa:psa
EXPOSE 8000
