# Hirfa: a small image that runs `hirfa run` as a non-root user.
#   docker build -t hirfa .
# The build stage compiles wheels; the final stage has only the virtual environment, the
# PostgreSQL client (pg_dump for `hirfa backup`) and no compilers.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/hirfa
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY locales ./locales
COPY console ./console
RUN /opt/hirfa/bin/pip install --no-cache-dir ".[postgres]"

FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --create-home hirfa
COPY --from=build /opt/hirfa /opt/hirfa
COPY templates /app/templates
ENV PATH=/opt/hirfa/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HIRFA_HTTP__HOST=0.0.0.0 \
    HIRFA_HTTP__PORT=8080 \
    HIRFA_HTTP__SERVE=true
USER hirfa
WORKDIR /data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"
CMD ["hirfa", "run"]
