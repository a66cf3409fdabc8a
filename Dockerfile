# ollama-bridge: an Ollama-compatible gateway on port 11434.
# docker build -t ollama-bridge .
# docker run -e OPENROUTER_API_KEY=sk-or-... -p 127.0.0.1:11434:11434 -v ollama-bridge-data:/data ollama-bridge
# or, from a secret mounted as a file: -e OPENROUTER_API_KEY_FILE=/run/secrets/openrouter

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json tsconfig.schemas.json ./
COPY schemas ./schemas
COPY src ./src
COPY admin-page ./admin-page
RUN npm run build

FROM node:24-bookworm-slim
# Inside the container the gateway must listen on 0.0.0.0. With no client keys configured it
# then generates one for the run and prints it once (see README, "Docker").
ENV NODE_ENV=production \
    OLLAMA_HOST=0.0.0.0:11434 \
    BRIDGE_GENERATE_KEY=true \
    USAGE_DB=/data/usage.db
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY models-filter.txt.example .env.example ./
# The usage database lives in /data: a volume, so it outlives the container; owned by the
# user the gateway runs as (a new named volume takes this ownership from the image).
RUN mkdir -p /data && chown node:node /data && chmod 700 /data
VOLUME /data
USER node
EXPOSE 11434
# Liveness, not readiness: an OpenRouter outage would make /health/ready 503 in every
# container at once, and restarting them mends nothing. Orchestrators can probe /health/ready.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.BRIDGE_PORT||((process.env.OLLAMA_HOST||'').match(/:(\\d+)$/)||[])[1]||11434)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
