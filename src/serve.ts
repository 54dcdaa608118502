// Starting the server for real: configuration, the one-time key banner, signals.
import { ConfigError, loadConfig } from "./config.js";
import { KeyRingError } from "./crypto/key-ring.js";
import { DatabaseStartupError } from "./db/client.js";
import { buildServer } from "./server.js";

export async function serve(): Promise<void> {
  let server;
  try {
    const config = loadConfig();
    server = await buildServer(config);
    if (server.generatedMasterKeyFile) {
      process.stderr.write(`\nGenerated a development master key at ${server.generatedMasterKeyFile} (mode 0600). Keep it: without it stored secrets cannot be opened.\n`);
    }
    if (server.bootstrap?.generated) {
      // Shown once, on the terminal only: never through the logger.
      process.stderr.write(
        [
          "",
          "=".repeat(78),
          " Portcullis created the first organization. Its owner API key, shown only now:",
          "",
          `   ${server.bootstrap.ownerApiKey}`,
          "",
          " Store it in a secret manager. Only its hash is kept.",
          "=".repeat(78),
          "",
          "",
        ].join("\n"),
      );
    }
    const { url } = await server.listen();
    server.logger.info({ url }, `Portcullis listening on ${url}/graphql`);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof DatabaseStartupError || err instanceof KeyRingError) {
      process.stderr.write(`portcullis: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const running = server;
  const stop = (signal: string) => {
    running.logger.info({ signal }, "shutting down: finishing requests in flight");
    running.close().then(
      () => process.exit(0),
      (err) => {
        running.logger.error({ err: (err as Error).message }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}
