# The memloom image: the CLI, which runs workers (`memloom worker`) and migrations (`memloom migrate`).
# It runs the TypeScript sources through tsx, so there is no build step.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
USER node
ENTRYPOINT ["node", "bin/memloom.js"]
CMD ["worker"]
