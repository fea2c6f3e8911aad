/** Runs a command's CLI module: `builtUrl` when it exists, else `sourceUrl` with tsx. */
export function launch(name: string, builtUrl: URL, sourceUrl: URL): Promise<void>;

/**
 * Runs a CLI module's `main` when that module is the process's main script, not when a test
 * imports it; exits with its status, or prints `describe(error)` and exits 1.
 */
export function runIfMain(
  moduleUrl: string,
  main: (argv: string[]) => Promise<number>,
  describe: (error: unknown) => string,
): void;
