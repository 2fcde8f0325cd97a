# The LRS against an external PostgreSQL (LRS_DATABASE_URL). Multi-stage:
# wheels are built in the first stage, the runtime stage has no compiler.
# Python 3.11: on the benchmark machine it served about 8% more single
# statements a second than 3.12.1 and 12% more than 3.13.0, with the same
# libraries (medians of alternating runs; docs/benchmarks.md, "Session 13").
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY lrs ./lrs
COPY migrations ./migrations
COPY conformance ./conformance
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --create-home --uid 10001 lrs
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER lrs
ENV LRS_HOST=0.0.0.0 \
    LRS_PORT=8080 \
    PYTHONUNBUFFERED=1
EXPOSE 8080
# The port the server was given (LRS_PORT), not a fixed 8080: with another one set, a
# fixed port made every check fail and the container unhealthy.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os,sys,urllib.request; port = os.environ.get('LRS_PORT', '8080'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=2).status == 200 else 1)"]
# LRS_DATABASE_URL must be set: the image has no embedded PostgreSQL.
CMD ["lrs", "serve"]
