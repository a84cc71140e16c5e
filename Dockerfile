# HAMP: one image for every component (docs/image.md). The command picks what runs:
#   docker run … hamp:<version> run gateway        (or run registry, run dbs, … any `hamp run` component)
#   docker run … hamp:<version> migrate            (the chart's pre-install/pre-upgrade Job)
#   docker run … hamp:<version> <any hamp command> (backup, reset-password, audit verify, …)
# Build: docker build -t hamp:<version> .   (CI builds this same file with buildah: .ci/image.sh)
# Behind a TLS-inspecting proxy, hand the build the machine's CA bundle (used while downloading, kept out of
# every layer): docker build --secret id=build-ca,src=/etc/ssl/certs/ca-certificates.crt -t hamp:<version> .
ARG BASE_IMAGE=debian:bookworm-slim
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- The console, built with Node 20 (vite 8 needs >= 20.19; bookworm's nodejs is 18). Only dist/ goes on.
FROM ${NODE_IMAGE} AS console
WORKDIR /src/gateway/console
COPY gateway/console/package.json gateway/console/package-lock.json ./
RUN --mount=type=secret,id=build-ca \
    if [ -s /run/secrets/build-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/build-ca; fi \
 && npm ci --no-audit --no-fund --loglevel=error
COPY gateway/console/ ./
RUN npm run build && rm -f dist/.hash

# ---- The Python dependencies, exactly as uv.lock says, from PyPI; a layer of their own, rebuilt only when
# pyproject.toml or uv.lock change. uv itself stays in this stage.
FROM ${BASE_IMAGE} AS deps
ARG UV_VERSION=0.13.9
RUN --mount=type=secret,id=build-ca \
    if [ -s /run/secrets/build-ca ]; then export PIP_CERT=/run/secrets/build-ca; fi \
 && apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --no-cache-dir --disable-pip-version-check --quiet "uv==${UV_VERSION}"
# Debian's python3 (3.11), never a downloaded one. Bytecode is compiled at build time: the running user
# cannot write it next to the code, so without it every start would compile all of it again.
ENV UV_PYTHON=/usr/bin/python3 UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv UV_LINK_MODE=copy
WORKDIR /src
COPY pyproject.toml uv.lock ./
RUN --mount=type=secret,id=build-ca --mount=type=cache,id=hamp-uv,target=/root/.cache/uv \
    if [ -s /run/secrets/build-ca ]; then export SSL_CERT_FILE=/run/secrets/build-ca; fi \
 && /opt/uv/bin/uv sync --frozen --no-dev --no-install-project --compile-bytecode

# ---- The project itself, installed (not editable) into that environment with the console's dist/ inside the
# gateway package. Only the files this install adds go on (/out): a source change leaves the dependencies'
# layer as it was. One COPY of the context (.dockerignore keeps it to the packages): each step costs time.
FROM deps AS project
COPY . ./
COPY --from=console /src/gateway/console/dist/ gateway/console/dist/
RUN --mount=type=secret,id=build-ca --mount=type=cache,id=hamp-uv,target=/root/.cache/uv \
    if [ -s /run/secrets/build-ca ]; then export SSL_CERT_FILE=/run/secrets/build-ca; fi \
 && find gateway/console -mindepth 1 -maxdepth 1 ! -name dist -exec rm -rf {} + \
 && touch /tmp/before \
 && /opt/uv/bin/uv sync --frozen --no-dev --no-editable \
 && cd /app/.venv \
 && find . -newer /tmp/before -name '*.py' -print0 | xargs -0 python3 -m compileall -q --invalidation-mode unchecked-hash \
 && mkdir /out \
 && find . -newer /tmp/before ! -type d -print0 | tar --null -cf - -T - | tar -xf - -C /out

# ---- What runs: Debian's python3, the environment above, no build tools, no uv, no tests, docs or secrets.
FROM ${BASE_IMAGE}
# mariadb-client: `hamp backup` against MySQL/MariaDB runs mariadb-dump (restore: mariadb). Its diagnostic
# and load-testing tools stay out (dpkg's path-exclude, as the slim base leaves out docs): 40 MB.
RUN for tool in mariadb-slap mysqlslap mariadb-show mysqlshow perror mariadb-conv mariadb-plugin mysql_plugin \
      mariadb-tzinfo-to-sql mysql_tzinfo_to_sql resolve_stack_dump mariadb-waitpid mysql_waitpid replace innotop \
      mytop mariadb-report mysqlreport mariadb-access mysqlaccess mariadb-hotcopy mysqlhotcopy \
      mariadb-setpermission mysql_setpermission mariadb-find-rows mysql_find_rows mariadb-fix-extensions \
      mysql_fix_extensions mariadb-dumpslow mysqldumpslow; do echo "path-exclude /usr/bin/$tool"; done \
      >/etc/dpkg/dpkg.cfg.d/hamp-mariadb-tools \
 && apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates mariadb-client \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && groupadd --gid 10001 hamp \
 && useradd --uid 10001 --gid hamp --home-dir /var/lib/hamp --no-create-home --shell /usr/sbin/nologin hamp \
 && install -d -o hamp -g hamp -m 0700 /var/lib/hamp
ENV PATH=/app/.venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HAMP_HOST=0.0.0.0 \
    HAMP_VAR_DIR=/var/lib/hamp
# Numeric, so Kubernetes' runAsNonRoot can see it is not root.
USER 10001:10001
WORKDIR /var/lib/hamp
# The gateway, the registry, the seven services (each component's default port; HAMP_PORT overrides).
EXPOSE 8080 8761 8101 8102 8103 8104 8105 8106 8107
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["hamp", "healthcheck"]
ENTRYPOINT ["hamp"]
CMD ["run", "gateway"]
# The code last: the steps above stay cached when only it changes. Root owns it; the running user only reads.
COPY --from=deps /app/.venv/ /app/.venv/
COPY --from=project /out/ /app/.venv/
# Last: a new revision changes only these (build arguments used earlier would redo every step after them).
ARG BASE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=""
ARG CREATED=""
LABEL org.opencontainers.image.title="HAMP" \
      org.opencontainers.image.description="HAMP hospital archive management platform: registry, gateway and services; the command picks the component (hamp run <component>)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.documentation="docs/image.md" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
