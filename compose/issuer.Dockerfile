# Mock JWKS issuer for test stacks. Built FROM the backend image, which already carries the
# libraries it needs (starlette, uvicorn, httpx, pyjwt, cryptography); only the harness's
# issuer package (and the three modules it imports) is added. Context: repository root.
ARG BACKEND_IMAGE=tasks-backend:latest
FROM ${BACKEND_IMAGE}

COPY harness/__init__.py harness/errors.py harness/serving.py /opt/issuer/harness/
COPY harness/issuer/ /opt/issuer/harness/issuer/
USER root
RUN python3 -m compileall -q /opt/issuer
USER app
WORKDIR /opt/issuer
ENV PYTHONPATH=/opt/issuer
EXPOSE 9000
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:9000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["python3", "-m", "harness.issuer", "--host", "0.0.0.0", "--port", "9000"]
CMD ["--issuer", "http://localhost:3000"]
