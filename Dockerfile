# Arka in a container. Listening on all interfaces requires a password:
#   docker run -e ARKA_PASSWORD=secret -p 5432:5432 -v arka-data:/data arka
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY protocol ./protocol
COPY test ./test
COPY bench ./bench
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/node_modules ./node_modules
VOLUME /data
EXPOSE 5432
ENTRYPOINT ["node", "bin/arka.js", "serve", "--host", "0.0.0.0", "--port", "5432", "--data-dir", "/data"]
